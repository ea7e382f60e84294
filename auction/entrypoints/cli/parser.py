"""argparse for people (`auction` and `auction-bidder`): its complaints said in Chinese
first, English second, with the way to get help. A command not given right exits 2."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

BAD_INPUT = 2
# argparse's own complaints (its English is kept after the Chinese).
_SAID = [
    (re.compile(r"the following arguments are required: (?P<what>.+)"), "缺少参数 {what}"),
    (re.compile(r"argument (?P<what>\S+): not allowed with argument (?P<other>\S+)"), "{what} 与 {other} 只能选一个"),
    (re.compile(r"one of the arguments (?P<what>.+) is required"), "须给出 {what} 之一"),
    (re.compile(r"argument (?P<what>\S+): expected one argument"), "{what} 后须跟一个值"),
    (re.compile(r"argument (?P<what>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)"),
     "{what} 无此选项 {value}，可选 {choices}"),
    (re.compile(r"unrecognized arguments: (?P<what>.+)"), "无法识别的参数 {what}"),
]
_TYPE_ERROR = re.compile(r"argument (?P<what>\S+): (?P<said>.*[\u4e00-\u9fff].*)", re.S)


def bilingual(message: str) -> str:
    """An argparse message with Chinese first: a message already bilingual (an option's own
    type check) keeps its words and names the option; a known one of argparse's is put in Chinese."""
    found = _TYPE_ERROR.fullmatch(message)
    if found is not None:
        return f"{found['what']}：{found['said']}"
    for pattern, chinese in _SAID:
        found = pattern.fullmatch(message)
        if found is not None:
            return f"{chinese.format(**found.groupdict())} / {message}"
    return message


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints said in Chinese too and the way to get help (exit 2).
    Its subcommands' parsers are of this class too (argparse makes them like their parent)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(BAD_INPUT, f"{self.prog}: 参数有误 / error: {bilingual(message)}\n  用 --help 查看用法 / see --help\n")
