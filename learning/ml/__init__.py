"""Pure machine-learning core: numpy, scikit-learn, modAL and cleanlab on arrays only.

Never imports Django or the apps (an import-linter contract checked by `make test`).
"""
