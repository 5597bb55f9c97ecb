"""OpenAI's chat and completion API over a trit.Engine, shared by trit.server and the Model methods
create_chat_completion / create_completion (one implementation): request checks (schemas), the prompt
(prompt: the model's Jinja template or a built-in format, tools), constraints (response_format, tools),
the answers (responses) and a loop-free runner (run). Needs pydantic and jinja2: the ``chat`` extra
(also in ``server``)."""
