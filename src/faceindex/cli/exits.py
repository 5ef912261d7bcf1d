"""The exit codes of every `faceindex` command: one table, one meaning each."""

from __future__ import annotations

OK = 0
NOTHING_FOUND = 1  # the command ran, but found no face or no match, or left some faces as they were
BAD_INPUT = 2  # bad usage, a file that cannot be read or decoded, an unknown collection, ...
MODEL = 3  # could not start: a model could not be prepared or run, or serve's port is taken
TAMPERED = 4  # `audit verify`: the audit log is not as it was signed
INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT

EPILOG = """\
exit codes (the same for every command):
  0    done
  1    nothing found: no face (detect, index), no match (compare, search, users search), or some
       faces left as they were (faces delete, users associate, users disassociate)
  2    bad input or usage: a file that cannot be read or decoded (detect and index: any one of them),
       a bad option, an unknown collection; the message names Rekognition's error code
  3    could not start: the model pack could not be prepared or run, or (serve) the port is taken
  4    (audit verify) the audit log was altered, cut or reordered; the message names the first bad entry
  130  interrupted (Ctrl-C)
"""
