#!/usr/bin/env python3
"""Reference outputs of Keras's text preprocessing for tests/text/keras_tokenizer_test.cpp.

TensorFlow is not installed here, so this file carries keras_preprocessing's algorithm
(keras_preprocessing/text.py: text_to_word_sequence, Tokenizer.fit_on_texts,
texts_to_sequences, sequences_to_texts; keras_preprocessing/sequence.py: pad_sequences)
line for line, and writes tests/text/data/keras_tokenizer_reference.json.

    /usr/bin/python3 tools/text/keras_tokenizer_reference.py
"""
import json
import os
from collections import OrderedDict, defaultdict

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    if lower:
        text = text.lower()
    translate_map = str.maketrans({c: split for c in filters})
    text = text.translate(translate_map)
    seq = text.split(split)
    return [i for i in seq if i]


class Tokenizer(object):
    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None):
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = 0
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def fit_on_texts(self, texts):
        for text in texts:
            self.document_count += 1
            if self.char_level or isinstance(text, list):
                if self.lower:
                    text = text.lower()
                seq = text
            else:
                seq = text_to_word_sequence(text, self.filters, self.lower, self.split)
            for w in seq:
                if w in self.word_counts:
                    self.word_counts[w] += 1
                else:
                    self.word_counts[w] = 1
            for w in set(seq):
                self.word_docs[w] += 1
        wcounts = list(self.word_counts.items())
        wcounts.sort(key=lambda x: x[1], reverse=True)
        if self.oov_token is None:
            sorted_voc = []
        else:
            sorted_voc = [self.oov_token]
        sorted_voc.extend(wc[0] for wc in wcounts)
        self.word_index = dict(zip(sorted_voc, list(range(1, len(sorted_voc) + 1))))
        self.index_word = {c: w for w, c in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def texts_to_sequences(self, texts):
        out = []
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for text in texts:
            if self.char_level or isinstance(text, list):
                if self.lower:
                    text = text.lower()
                seq = text
            else:
                seq = text_to_word_sequence(text, self.filters, self.lower, self.split)
            vect = []
            for w in seq:
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_token_index is not None:
                            vect.append(oov_token_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_token_index)
            out.append(vect)
        return out

    def sequences_to_texts(self, sequences):
        out = []
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_token_index is not None:
                            vect.append(self.index_word[oov_token_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_token_index])
            out.append(" ".join(vect))
        return out


def pad_sequences(sequences, maxlen=None, dtype="int64", padding="pre", truncating="pre", value=0):
    num_samples = len(sequences)
    lengths = [len(x) for x in sequences]
    if maxlen is None:
        maxlen = np.max(lengths)
    x = np.full((num_samples, maxlen), value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        if truncating == "pre":
            trunc = s[-maxlen:]
        elif truncating == "post":
            trunc = s[:maxlen]
        else:
            raise ValueError(truncating)
        trunc = np.asarray(trunc, dtype=dtype)
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        elif padding == "pre":
            x[idx, -len(trunc):] = trunc
        else:
            raise ValueError(padding)
    return x


TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "The dog barks; the FOX runs!   Quick, quick...",
    "A journey of a thousand miles begins with a single step.",
    "Don't count your chickens before they're hatched -- or the fox eats them.",
    "Caf\u00e9 \u00c9T\u00c9 na\u00efve r\u00e9sum\u00e9: the caf\u00e9 is open\ttoday\nand tomorrow",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440, \u0394\u03ad\u03bb\u03c4\u03b1 \u03b1\u03bb\u03c6\u03b1",
    "",
    "emoji \U0001F600 stays a word \U0001F600 \u4e2d\u6587",
]
QUERIES = [
    "the fox and the unknown zebra",
    "QUICK quick Quick? caf\u00e9!",
    "",
    "dog dog dog miles",
    "\u4e2d\u6587 emoji \U0001F600",
]

CONFIGS = [
    {"name": "default"},
    {"name": "oov", "oov_token": "<OOV>"},
    {"name": "num_words", "num_words": 6},
    {"name": "num_words_oov", "num_words": 6, "oov_token": "<OOV>"},
    {"name": "no_lower", "lower": False},
    {"name": "char_level", "char_level": True, "oov_token": "?"},
    {"name": "custom_filters", "filters": ".,", "split": " "},
    {"name": "split_comma", "filters": "", "split": ","},
    {"name": "oov_seen", "oov_token": "fox"},
]

PAD_CASES = [
    {"name": "pre_pre", "maxlen": 3},
    {"name": "post_post", "maxlen": 3, "padding": "post", "truncating": "post"},
    {"name": "pre_post", "maxlen": 4, "padding": "pre", "truncating": "post"},
    {"name": "post_pre_value", "maxlen": 5, "padding": "post", "truncating": "pre", "value": -1},
    {"name": "longest", "maxlen": None},
]
PAD_INPUT = [[1, 2, 3, 4, 5], [6], [], [7, 8, 9], [10, 11, 12, 13]]


def main():
    cases = []
    for cfg in CONFIGS:
        kwargs = {k: v for k, v in cfg.items() if k != "name"}
        tok = Tokenizer(**kwargs)
        tok.fit_on_texts(TEXTS)
        seqs = tok.texts_to_sequences(TEXTS + QUERIES)
        cases.append({
            "name": cfg["name"],
            "options": kwargs,
            "word_counts": [[w, c] for w, c in tok.word_counts.items()],
            "word_index": tok.word_index,
            "document_count": tok.document_count,
            "sequences": seqs,
            "texts_back": tok.sequences_to_texts(seqs),
        })
    pads = []
    for case in PAD_CASES:
        kwargs = {k: v for k, v in case.items() if k != "name"}
        pads.append({"name": case["name"], "options": kwargs,
                     "output": pad_sequences(PAD_INPUT, **kwargs).tolist()})
    out = {"texts": TEXTS, "queries": QUERIES, "tokenizers": cases, "pad_input": PAD_INPUT, "pad": pads}
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "text", "data", "keras_tokenizer_reference.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
