"""Loopback-only network guard for every Python process the benchmark starts."""

import bench_netguard

bench_netguard.install()
