"""The local LLM proposer: a GGUF model run by llama-cpp-python under a guidance grammar."""
