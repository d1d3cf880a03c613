"""Benchmarks and leaderboards as the Hub keeps them: a dataset's ``eval.yaml``, models' results ranked."""

from hubrerank.benchmark.leaderboard import LeaderboardRow, leaderboard
from hubrerank.benchmark.spec import Benchmark, BenchmarkTask, TaskRequest, create_benchmark, read_benchmark

__all__ = [
    "Benchmark",
    "BenchmarkTask",
    "LeaderboardRow",
    "TaskRequest",
    "create_benchmark",
    "leaderboard",
    "read_benchmark",
]
