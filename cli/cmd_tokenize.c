/* cmd_tokenize.c: `mobench tokenize -m FILE.gguf (--text STR | --file F)`:
 * a GGUF file's tokenizer (models.h section 9) on a text, ids on stdout. */
#include "cli_opts.h"
#include "commands.h"
#include "mb.h"
#include "models.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TOKENIZE_MAX_FILE ((size_t)1 << 30) /* 1 GiB of text */

static void tokenize_help(void)
{
    printf("usage: mobench tokenize -m FILE.gguf (--text STR | --file F) [--special]\n"
           "                        [-o ids|json]\n\n"
           "Tokenizes a text with the tokenizer of a GGUF file (its tokenizer.* metadata;\n"
           "a vocab-only file without tensors is fine), as llama.cpp does: SentencePiece\n"
           "(tokenizer.ggml.model = llama) or byte-level BPE (gpt2) with the pre-tokenizer\n"
           "tokenizer.ggml.pre names. docs/TOKENIZER.md.\n\n"
           "  -m, --model FILE   the GGUF file\n"
           "  --text STR         the text (its bytes, as given)\n"
           "  --file F           the text is the file's bytes ('-': standard input)\n"
           "  --special          add BOS/EOS as the file says (add_bos_token ...) and turn\n"
           "                     control tokens written in the text (\"<s>\") into their ids;\n"
           "                     by default neither (llama.cpp's tokenizer-test convention)\n"
           "  -o ids             the ids space-separated on one line (default)\n"
           "  -o json            {\"tokenizer\", \"n_vocab\", \"n_tokens\", \"ids\", \"texts\"}\n"
           "                     (texts: each token as the vocabulary stores it)\n");
}

static int read_stdin(char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return mb_err_set(MB_ENOMEM, "out of memory reading standard input");
    for (;;) {
        if (n == cap) {
            if (cap >= TOKENIZE_MAX_FILE) {
                free(b);
                return mb_err_set(MB_ERANGE, "standard input is over 1 GiB");
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return mb_err_set(MB_ENOMEM, "out of memory reading standard input");
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, stdin);
        n += r;
        if (r == 0) {
            if (ferror(stdin)) {
                free(b);
                return mb_err_set(MB_EIO, "cannot read standard input");
            }
            break;
        }
    }
    *out = b;
    *len = n;
    return MB_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *text = NULL, *file = NULL, *fmt = "ids";
    bool special = false;
    enum { OPT_TEXT = 1000, OPT_FILE, OPT_SPECIAL };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"text", required_argument, NULL, OPT_TEXT},
        {"file", required_argument, NULL, OPT_FILE},
        {"special", no_argument, NULL, OPT_SPECIAL},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "m:o:h", longopts);
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            tokenize_help();
            return MB_EXIT_OK;
        case 'm': model = v; break;
        case OPT_TEXT: text = v; break;
        case OPT_FILE: file = v; break;
        case OPT_SPECIAL: special = true; break;
        case 'o':
            if (strcmp(v, "ids") && strcmp(v, "json"))
                return cli_usage_error("tokenize", "-o wants ids or json, not '%s'", v);
            fmt = v;
            break;
        case CLI_OPT_OPERAND:
            return cli_usage_error("tokenize", "unexpected argument '%s'", v);
        default:
            return cli_opts_error(&op, "tokenize", oc);
        }
    }
    if (!model)
        return cli_usage_error("tokenize", "needs -m FILE.gguf");
    if (!text == !file)
        return cli_usage_error("tokenize", "needs exactly one of --text STR and --file F");
    char *buf = NULL;
    size_t len = 0;
    int rc;
    if (file) {
        rc = strcmp(file, "-") ? mb_file_read(file, TOKENIZE_MAX_FILE, &buf, &len)
                               : read_stdin(&buf, &len);
        if (rc)
            return cli_fail("tokenize", rc);
        text = buf;
    } else {
        len = strlen(text);
    }
    models_tokenizer_t *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if ((rc = models_tokenizer_open(model, &tok)) ||
        (rc = models_tokenizer_encode(tok, text, len, special, special, &ids, &n))) {
        free(buf);
        models_tokenizer_destroy(tok);
        return cli_fail("tokenize", rc);
    }
    if (!strcmp(fmt, "ids")) {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %" PRId32 : "%" PRId32, ids[i]);
        putchar('\n');
    } else {
        mb_json_t j;
        mb_json_init(&j, stdout, false);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "tokenizer"); mb_json_str(&j, models_tokenizer_kind(tok));
        mb_json_key(&j, "n_vocab"); mb_json_int(&j, models_tokenizer_n_vocab(tok));
        mb_json_key(&j, "n_tokens"); mb_json_int(&j, (int64_t)n);
        mb_json_key(&j, "ids");
        mb_json_arr_begin(&j);
        for (size_t i = 0; i < n; i++)
            mb_json_int(&j, ids[i]);
        mb_json_arr_end(&j);
        /* each token's text as the vocabulary stores it (SPM: U+2581 for a
         * space; BPE: GPT-2's byte alphabet, "Ġ" for a space) */
        mb_json_key(&j, "texts");
        mb_json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            size_t tl;
            const char *tt = models_tokenizer_token_text(tok, ids[i], &tl);
            char *c = tt ? strndup(tt, tl) : NULL;
            mb_json_str(&j, c);
            free(c);
        }
        mb_json_arr_end(&j);
        mb_json_obj_end(&j);
        putchar('\n');
    }
    free(ids);
    free(buf);
    models_tokenizer_destroy(tok);
    return MB_EXIT_OK;
}
