"""A discrete-event model of a support desk over a seeded 30-day workload (for bench_breach_rate).

``params`` holds every assumption, ``workload`` the seeded arrivals, ``desk``
the agents, customers and supervisor, ``arms`` the three ways of escalating
(none, hourly automations, deskbridge's real engine), ``measure`` the SLA
breach measurement with deskbridge's own clocks, and ``run`` ties them together.
"""

from benchmarks.simulation.measure import ArmResult
from benchmarks.simulation.params import ModelParams
from benchmarks.simulation.run import ARMS, run_arm
from benchmarks.simulation.workload import generate_workload

__all__ = ["ARMS", "ArmResult", "ModelParams", "generate_workload", "run_arm"]
