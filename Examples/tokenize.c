/* Tokenizer dump: prints each token of a text with its id and bytes.
 * usage: tokenize MODEL_OR_TOKENIZER TEXT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trit.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL TEXT\n", argv[0]); return 2; }
    trit_tokenizer *tok = NULL;
    if (trit_tokenizer_load(argv[1], &tok) != TRIT_OK) { fprintf(stderr, "error: %s\n", trit_last_error()); return 1; }
    size_t n = 0;
    /* first call with no buffer reports the size needed */
    trit_status st = trit_tokenize(tok, argv[2], strlen(argv[2]), true, false, NULL, 0, &n);
    if (st != TRIT_OK && st != TRIT_ERR_BUFFER_TOO_SMALL) { fprintf(stderr, "error: %s\n", trit_last_error()); return 1; }
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (trit_tokenize(tok, argv[2], strlen(argv[2]), true, false, ids, n, &n) != TRIT_OK) return 1;
    printf("%zu tokens (vocabulary %d)\n", n, trit_tokenizer_n_vocab(tok));
    for (size_t i = 0; i < n; i++) {
        char piece[256];
        size_t len = 0;
        if (trit_detokenize(tok, &ids[i], 1, true, piece, sizeof piece, &len) != TRIT_OK) snprintf(piece, sizeof piece, "?");
        printf("%6d  '%s'\n", ids[i], piece);
    }
    free(ids);
    trit_tokenizer_free(tok);
    return 0;
}
