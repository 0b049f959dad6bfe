"""LiRA on transferred prompts: shadows are tuned on the source and moved to the target like the attacked prompt."""


from safetensors import safe_open

SUITE = """
name: lira-post
threads: 1
seeds: [0]
epsilons: [inf, 8]
models:
  target: tiny-gpt2:layers=2,hidden=64
  source: {model: "tiny-gpt2:layers=1,hidden=32,seed=1"}
datasets: {private: [election-tweets], public: friends}
budget: {train_size: 32, val_size: 8, test_size: 16, public_size: 16, max_tokens: 24, prompt_length: 4}
tuning: {steps: 2, batch_size: 8, accountant: rdp}
methods: [{name: post, steps: 2, batch_size: 8}, {name: ptfer, steps: 10, anchors: 32}]
attacks: [{name: lira, methods: [post, ptfer], shadows: 4, population: 16, variants: [online]}]
"""


def test_lira_attacks_post_and_ptfer_prompts(tmp_path, run_suite):
    out, results = run_suite(SUITE, tmp_path)
    got = {(r["method"], r["epsilon"]) for r in results["privacy"]}
    assert got == {("post", None), ("post", 8.0), ("ptfer", None), ("ptfer", 8.0)}
    assert all(0.0 <= r["auc"] <= 1.0 and r["n_shadows"] == 4 for r in results["privacy"])
    shadow_dirs = sorted((out / "units").glob("shadows-*"))
    assert len(shadow_dirs) == 4
    for d in shadow_dirs:
        with safe_open(str(d / "shadow_prompts.safetensors"), framework="pt") as f:
            assert tuple(f.get_tensor("prompts").shape) == (4, 4, 64)  # moved to the target's hidden size
