"""The printed `podcast-bot eval` report: compact tables, retrievers and kinds as rows.

For each question file (when there are several) and for all of them: every headline score by
retriever for odd ids, even ids and all; the same counted per expected moment; then, for all
questions, the scores per kind of question and the offline answers' quotes.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval import SLACK_SEC, AnswerCheck, EvalReport, Level, Scores, Share, Summary


def format_report(report: EvalReport) -> str:
    parts = []
    files = report.files
    several = len(files) > 1
    if several:
        for file in files:
            title = f"{file}: {_counts(report.summary(file), report.k)}"
            parts.append(title + "\n" + _headline(_halves(report, file), report.k))
    everything = report.summary()
    halves = _halves(report, None)
    title = "all files" if several else files[0] if files else "no questions"
    parts.append(f"{title}: {_counts(everything, report.k)}\n" + _headline(halves, report.k))
    parts.append(
        "counted per expected moment (a multi-episode question has one per episode):\n" + _per_moment(halves, report.k)
    )
    parts.append("by kind (all ids):\n" + _kinds(everything, report.k))
    if everything.answers is not None:
        scopes = [(file, half, summary) for file in files for half, summary in _halves(report, file).items()]
        if several:
            scopes += [("all files", half, summary) for half, summary in halves.items()]
        parts.append(f"offline answers (a quote within {SLACK_SEC} s of the expected second):\n" + _answers(scopes))
    return "\n\n".join(parts)


def _counts(summary: Summary, k: int) -> str:
    scores = next(iter(summary.retrievers.values()), None)
    if scores is None:
        return "0 questions"
    moments = scores.moment.per_moment.total
    return (
        f"{summary.questions} questions ({scores.false_refusals.total} answerable, "
        f"{moments} expected moment{'s' * (moments != 1)}), k={k}"
    )


def _halves(report: EvalReport, file: str | None) -> dict[str, Summary]:
    return {**report.halves(file), "all": report.summary(file)}


def _share(value: Share) -> str:
    return "-" if value.value is None else f"{value.value:.3f}"


def _count(value: Share) -> str:
    return "-" if not value.total else f"{value.count}/{value.total}"


def _level_names(k: int) -> list[str]:
    """The columns of the four levels (`retrieval.evaluation.metrics`), in the order `_levels` gives them."""
    return [f"episode@{k}", f"moment@{k}", "moment|episode", "context"]


def _levels(s: Scores) -> tuple[Level, ...]:
    return (s.episode, s.moment, s.moment_given_episode, s.context)


def _headline(halves: dict[str, Summary], k: int) -> str:
    header = ["retriever", "ids", "n", *_level_names(k), "link@1", f"link@{k}", "hit@1", "hit@3", "hit@5", "MRR"]
    header += ["MRR 95%", "refused", "false refusals", "p50 ms", "p95 ms"]
    rows = []
    for mode in _modes(halves):
        for half, summary in halves.items():
            s = summary.retrievers[mode]
            rows.append(
                [
                    mode,
                    half,
                    str(s.questions),
                    *(_share(level.every) for level in _levels(s)),
                    _share(s.link_at_1),
                    _share(s.link.every),
                    *(_share(s.hit_at[at]) for at in (1, 3, 5)),
                    "-" if s.mrr is None else f"{s.mrr:.3f}",
                    "-" if s.mrr_95 is None else f"{s.mrr_95[0]:.2f}–{s.mrr_95[1]:.2f}",
                    _count(s.refused),
                    _count(s.false_refusals),
                    f"{s.p50_ms:.1f}",
                    f"{s.p95_ms:.1f}",
                ]
            )
    return _table(header, rows, left=2)


def _per_moment(halves: dict[str, Summary], k: int) -> str:
    header = ["retriever", "ids", "moments", *_level_names(k), f"link@{k}"]
    rows = []
    for mode in _modes(halves):
        for half, summary in halves.items():
            s = summary.retrievers[mode]
            levels = (*_levels(s), s.link)
            rows.append([mode, half, str(s.moment.per_moment.total), *(_share(level.per_moment) for level in levels)])
    return _table(header, rows, left=2)


def _kinds(summary: Summary, k: int) -> str:
    header = ["kind", "retriever", "n", *_level_names(k), "link@1", "hit@1", "MRR"]
    header += ["refused", "per moment: episode", "moment", "context"]
    rows = []
    for kind, modes in summary.by_kind.items():
        for mode, s in modes.items():
            rows.append(
                [
                    kind if mode == next(iter(modes)) else "",
                    mode,
                    str(s.questions),
                    *(_count(level.every) for level in _levels(s)),
                    _count(s.link_at_1),
                    _count(s.hit_at[1]),
                    "-" if s.mrr is None else f"{s.mrr:.3f}",
                    _count(s.refused if s.refused.total else s.false_refusals),
                    *(_count(level.per_moment) for level in (s.episode, s.moment, s.context)),
                ]
            )
    return _table(header, rows, left=2)


def _answers(scopes: Sequence[tuple[str, str, Summary]]) -> str:
    header = [
        "questions",
        "ids",
        "answerable",
        "any quote",
        "first quote",
        "host questions",
        "refused",
        "false refusals",
    ]
    rows = []
    for scope, half, summary in scopes:
        check: AnswerCheck | None = summary.answers
        assert check is not None  # only called for a report with answers
        rows.append(
            [
                scope,
                half,
                str(check.answerable),
                _of(check.near_answer, check.answerable),
                _of(check.first_near_answer, check.answerable),
                _of(check.host_questions, check.quotes),
                f"{check.refused_unanswerable}/{check.unanswerable}",
                f"{check.refused_answerable}/{check.answerable}",
            ]
        )
    return _table(header, rows, left=2)


def _of(count: int, total: int) -> str:
    return f"{count}/{total} ({count / total:.1%})" if total else "-"


def _modes(halves: dict[str, Summary]) -> list[str]:
    return list(next(iter(halves.values())).retrievers)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int) -> str:
    """Columns as wide as their widest cell; the first `left` columns aligned left, the rest right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if n < left else cell.rjust(width)
            for n, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
