# Makes the HfTokenizerTest fixtures with the Hugging Face tokenizers library (Python, 0.23.2 here): three small
# BPE tokenizers trained on the repository's docs, laid out as Qwen 2/3 (NFC, a Split regex, byte-level), Llama 3
# (its regex, ignore_merges, a BOS template) and GPT-2 (byte-level with its own regex and a prefix space) ship
# theirs, and cases.json: what the library answers for each test text. Run from this directory:
#   pip install tokenizers && python3 generate.py
import json, sys, glob
from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, processors, trainers

QWEN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

files = sorted(glob.glob('../../../../../docs/*.md'))[:6] + ['../../../../../README.md']
extra = ["café naïve résumé Straße 東京 北京 こんにちは 😀👍🏽 ǅ", "x = 12345 + 678.9; y=[1,2,3]\n\n\tdef f(a):\n        return a*2\r\n"]

def build(pattern, ignore_merges, bos, vocab):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False, trim_offsets=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + (["<|begin_of_text|>"] if bos else [])
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([open(f).read() for f in files] + extra, trainer)
    if bos:
        b = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                          special_tokens=[("<|begin_of_text|>", b)])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok

def gpt2(vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([open(f).read() for f in files] + extra, trainer)
    return tok

cases = [
  "Hello world",
  "The EPP picks the best pod from live model-server state and answers with x-gateway-destination-endpoint.",
  "  leading spaces and trailing   ",
  "I'm sure it's what they'll say; WE'RE SURE THEY'VE DONE IT'D",
  "numbers 1234567 and 3.14159, 2026-12-07",
  "café naïve résumé Straße",
  "cafe\u0301 composed by NFC",
  "東京 and 北京, こんにちは",
  "emoji 😀👍🏽 done",
  "line one\nline two\r\n\n\n   indented\tTab",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
  "text<|endoftext|>more text",
  "!!!??? ... --- ***",
  "x = 12345 + 678.9; y=[1,2,3]\n\n\tdef f(a):\n        return a*2\r\n",
  "supercalifragilisticexpialidocious antidisestablishmentarianism",
  "",
  " ",
  "a",
]
out = {}
for name, tok, special in [("qwen-style", build(QWEN, False, False, 1200), False),
                           ("llama3-style", build(LLAMA3, True, True, 1200), True),
                           ("gpt2-style", gpt2(500), False)]:
    tok.save(f"{name}.json")
    out[name] = [{"text": c, "ids": tok.encode(c, add_special_tokens=True).ids} for c in cases]
json.dump(out, open("cases.json", "w"), ensure_ascii=False, indent=1)
import os
for n in ["qwen-style","llama3-style","gpt2-style"]:
    print(n, os.path.getsize(n+".json"))
