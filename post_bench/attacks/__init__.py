"""Attacks on soft prompts: LiRA (maths, shadows), extraction, audits."""
