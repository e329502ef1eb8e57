"""XLA_FLAGS for a test subprocess with N fake CPU devices.

XLA CPU aborts the process when the participants of a collective do not all arrive within 40 s
(``xla_cpu_collective_call_terminate_timeout_seconds``). With 8 device threads on 2 cores shared
with another test worker, one thread can lag that long: CI saw it once (an all-reduce of
``test_device_count_and_path_do_not_change_the_model``, 7 of 8 arrived). Tests allow 10 minutes.
"""


def xla_flags(devices: int) -> str:
  return (f"--xla_force_host_platform_device_count={devices} "
          "--xla_cpu_collective_call_terminate_timeout_seconds=600")
