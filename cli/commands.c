/* commands.c: the one table of mobench commands. */
#include "commands.h"

const mb_command_t mb_commands[] = {
    {"help", cmd_help, "list the commands, or explain one: mobench help COMMAND"},
    {"version", cmd_version, "print the version and the git commit of this build"},
    {"kernels", cmd_kernels, "matmul kernel speed per format vs measured read bandwidth and peak"},
    {"probe", cmd_probe, "what the device is: CPU, ISA, clusters, memory, thermal, power (--roofline: measured ceilings)"},
    {"db", cmd_db, "check, export (csv/json) or merge results databases"},
    {"compare", cmd_compare, "did a run get slower? per-cell verdicts between two runs (exit 3 on regression)"},
    {"recommend", cmd_recommend, "which model x quantization per device class and use case, with reasons"},
    {"report", cmd_report, "HTML report with gnuplot charts (PNG + SVG) and recommendation tables"},
    {"bench", cmd_bench, "prefill/decode speed per model x recipe x test, llama-bench style (-o md|csv|json|jsonl|sql)"},
    {"sweep", cmd_sweep, "run a sweep file's cells (crash-safe, resumable, stored): mobench sweep sweeps/quick.ini"},
    {"models", cmd_models, "models: list, show, build (synthetic, by recipe), inspect and eval GGUF files"},
    {"tokenize", cmd_tokenize, "a GGUF file's tokenizer on a text: token ids (llama.cpp's SPM and BPE)"},
    {"quality", cmd_quality, "what a quant recipe costs: KLD, top-1, ppl ratio vs F32; --text: perplexity/KLD on real text"},
};
const int mb_n_commands = (int)(sizeof mb_commands / sizeof mb_commands[0]);
