"""Drives a running `forge serve` with the official openai client (run by tests/serve/openai_client_test.cpp).

usage: openai_client_check.py BASE_URL KEY MODEL CONTEXT
Exits non-zero with a message on the first failed check.
"""
import sys

try:
    import openai
except ImportError:
    sys.exit("the openai package is missing from the test venv: run bash scripts/setup.sh --test")

base_url, key, model, context = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)


def check(cond, msg):
    if not cond:
        sys.exit("FAILED: " + msg)


# models
ids = [m.id for m in client.models.list()]
check(model in ids, f"models.list() has {model}: {ids}")

# chat, not streaming (greedy so the streamed run must match)
r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}],
                                   max_tokens=12, temperature=0, seed=1)
check(r.object == "chat.completion", r.object)
check(r.choices[0].message.role == "assistant", "role")
check(r.choices[0].finish_reason in ("stop", "length"), r.choices[0].finish_reason)
check(r.usage.completion_tokens <= 12 and r.usage.prompt_tokens > 0, str(r.usage))
text = r.choices[0].message.content

# chat, streaming, with usage
stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}],
                                        max_tokens=12, temperature=0, seed=1, stream=True,
                                        stream_options={"include_usage": True})
parts, usage, finish = [], None, None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for c in chunk.choices:
        if c.delta.content:
            parts.append(c.delta.content)
        if c.finish_reason:
            finish = c.finish_reason
check("".join(parts) == text, f"streamed {''.join(parts)!r} != {text!r}")
check(finish == r.choices[0].finish_reason, f"finish {finish}")
check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, f"usage {usage}")

# n = 2: two choices (choice i samples with seed + i), streamed chunks carry their index
r2 = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=8,
                                    temperature=0.9, seed=3, n=2)
check(sorted(c.index for c in r2.choices) == [0, 1], f"n=2 indices {[c.index for c in r2.choices]}")
check(r2.usage.completion_tokens >= 2, f"n=2 usage {r2.usage}")
streamed = {0: [], 1: []}
for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=8,
                                            temperature=0.9, seed=3, n=2, stream=True):
    for c in chunk.choices:
        if c.delta.content:
            streamed[c.index].append(c.delta.content)
for c in r2.choices:
    check("".join(streamed[c.index]) == c.message.content,
          f"n=2 choice {c.index}: streamed {''.join(streamed[c.index])!r} != {c.message.content!r}")

# completions (legacy), streaming and not
c = client.completions.create(model=model, prompt="abc", max_tokens=5, temperature=0, logprobs=2)
check(c.object == "text_completion", c.object)
check(len(c.choices[0].logprobs.tokens) == c.usage.completion_tokens, "logprobs tokens")
s = "".join(x.choices[0].text for x in client.completions.create(model=model, prompt="abc", max_tokens=5,
                                                                  temperature=0, stream=True) if x.choices)
check(s == c.choices[0].text, f"streamed completion {s!r} != {c.choices[0].text!r}")

# error mapping
try:
    openai.OpenAI(base_url=base_url, api_key="fk_000000000000_nope", max_retries=0).models.list()
    check(False, "bad key accepted")
except openai.AuthenticationError as e:
    check(e.status_code == 401, "401")
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    check(False, "unknown model accepted")
except openai.NotFoundError as e:
    check(e.code == "model_not_found", str(e))
try:
    client.completions.create(model=model, prompt="a" * (context + 10), max_tokens=1)
    check(False, "over-long prompt accepted")
except openai.BadRequestError as e:
    check(e.code == "context_length_exceeded", str(e))
try:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], temperature=5)
    check(False, "temperature 5 accepted")
except openai.BadRequestError as e:
    check(e.param == "temperature", str(e))
print("openai client checks passed")
