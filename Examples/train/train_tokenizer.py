"""Train the bundled model's byte-level BPE vocabulary on data/train.txt.

LLaMA 3's pre-tokenizer regex and ignore_merges, so trit runs it through its `llama-bpe`
path; 4096 tokens including <|begin_of_text|>, <|end_of_text|> and <|eot_id|>.
Writes data/tokenizer.json.
"""
import os

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]


def main():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([os.path.join(HERE, "data", "train.txt")], trainer)
    tok.save(os.path.join(HERE, "data", "tokenizer.json"))
    print("vocab", tok.get_vocab_size(), tok.encode("In the beginning God created the heaven").tokens)


if __name__ == "__main__":
    main()
