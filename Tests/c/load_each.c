/* load_each: loads each file given on the command line through the C API in a child process
 * (load, info, context, one eval, a few generated tokens) and prints one line per file:
 *   OK <path>
 *   ERR <path> <status> <message>
 *   SIGNAL <path> <signal number>
 *   TIMEOUT <path>
 * Used by Tests/integration/test_hostile_keys.py: no file may kill or hang the process. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <trit.h>

static bool keep_going(const char *piece, size_t len, void *user_data) {
    (void)piece; (void)len; (void)user_data;
    return true;
}

static int fail(const char *path, trit_status st) {
    printf("ERR %s %d %s\n", path, (int)st, trit_last_error());
    return 0;
}

static int run_one(const char *path) {
    trit_model *model = NULL;
    trit_status st = trit_model_load(path, NULL, &model);
    if (st != TRIT_OK) return fail(path, st);
    trit_model_info info = {.size = sizeof info};
    if ((st = trit_model_get_info(model, &info)) != TRIT_OK) return fail(path, st);
    trit_context_params cp = trit_context_default_params();
    cp.n_threads = 2;
    trit_context *ctx = NULL;
    if ((st = trit_context_create(model, &cp, &ctx)) != TRIT_OK) return fail(path, st);
    int32_t tok = info.bos >= 0 ? info.bos : 0;
    if ((st = trit_eval(ctx, &tok, 1, NULL)) != TRIT_OK) return fail(path, st);
    const trit_tokenizer *tk = NULL;
    if (trit_model_get_tokenizer(model, &tk) == TRIT_OK) {
        trit_generate_params gp = trit_generate_default_params();
        gp.max_tokens = 4;
        if ((st = trit_generate(ctx, "Hello", &gp, keep_going, NULL, NULL)) != TRIT_OK) return fail(path, st);
    }
    trit_context_free(ctx);
    trit_model_free(model);
    printf("OK %s\n", path);
    return 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) {
            alarm(60);
            run_one(argv[i]);
            fflush(stdout);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) {
            if (WTERMSIG(status) == SIGALRM) printf("TIMEOUT %s\n", argv[i]);
            else printf("SIGNAL %s %d\n", argv[i], WTERMSIG(status));
        } else if (WEXITSTATUS(status) != 0) {
            printf("SIGNAL %s exit-%d\n", argv[i], WEXITSTATUS(status));
        }
    }
    return 0;
}
