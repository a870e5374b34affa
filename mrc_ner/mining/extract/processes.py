"""Process state for :func:`~mrc_ner.mining.extract.run.run_extraction`: one process, or accelerate's."""

from __future__ import annotations

from typing import Any


class SingleProcess:
    """The process-state protocol of :func:`run_extraction` for one process (what PartialState offers)."""

    num_processes = 1
    process_index = 0
    is_main_process = True

    def wait_for_everyone(self) -> None:
        pass


def process_state(cpu: bool) -> Any:
    """accelerate's ``PartialState`` for this process; CPU processes (gloo) when ``cpu`` or when there is no GPU.

    Under ``accelerate launch`` or ``torchrun`` it knows the process's rank and the number of processes.
    """
    from datetime import timedelta

    import torch
    from accelerate import PartialState

    # A long timeout: a process that finishes its shard early waits for the others.
    return PartialState(cpu=cpu or not torch.cuda.is_available(), timeout=timedelta(days=7))
