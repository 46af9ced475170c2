"""The concrete machine: storage, translation, decode, the simulator, the assembler."""

from .assembler import Program, assemble, assemble_file
from .decode import Decoder, encode
from .simulator import (
    DOUBLE_FAULT,
    HALTED,
    STEP_LIMIT,
    TRAPPED,
    UNDECODABLE,
    Decoded,
    Machine,
    RunResult,
    StepEvent,
)
from .storage import Storage
from .syntax import disassemble, register_name
from .translation import make_port

__all__ = [
    "DOUBLE_FAULT",
    "HALTED",
    "STEP_LIMIT",
    "TRAPPED",
    "UNDECODABLE",
    "Decoded",
    "Decoder",
    "Machine",
    "Program",
    "RunResult",
    "StepEvent",
    "Storage",
    "assemble",
    "assemble_file",
    "disassemble",
    "encode",
    "make_port",
    "register_name",
]
