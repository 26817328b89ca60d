"""The feature layout the ranker is trained on: names, order and the version that ties a trained
model to them. Also the candidate kinds."""

from __future__ import annotations

from rag.corpus import COLUMN_KINDS

FEATURE_SET_VERSION = "5"
KINDS = ("cell", "figure", "sentence", "lead", "diff")
CELL, FIGURE, SENTENCE, LEAD, DIFF = range(5)

FEATURES: tuple[str, ...] = (
    # the question
    "q_en", "q_wants_number", "q_who", "q_which", "q_when", "q_where", "q_overview",
    "q_cmp_budget", "q_cmp_change", "q_cmp_than", "q_direction", "q_n_years", "q_total",
    "q_unit_money", "q_unit_count", "q_unit_percent", "q_unit_fte", "q_unit_percap", "q_n_terms", "q_oov",
    "q_table_ref",
    # the candidate
    "k_cell", "k_figure", "k_sentence", "k_lead", "k_diff",
    "cov_all", "cov_primary", "cov_secondary", "cov_column", "cov_after", "missed_max", "extra_label",
    "n_label_words", "dense_main", "dense_gap", "dense_rank", "dense_col", "bm25", "bm25_rank",
    "year_match", "year_other", "year_latest", "table_has_year", "years_in_text", "report_year_match",
    "report_latest", "c_unit_money", "c_unit_count", "c_unit_percent", "c_unit_fte", "c_unit_percap",
    "unit_match", "unit_conflict",
    *(f"col_{k}" for k in COLUMN_KINDS), "intent_match", "col_first", "col_last",
    "is_total", "is_subtotal", "is_subrow", "has_section", "row_pos", "uncertain", "table_ref_match",
    "log_value", "negative", "zero", "raw_percent",
    "n_figures", "figure_pos", "has_proper", "has_number", "n_words",
    "pair_same_row", "pair_year_change", "pair_actual_budget", "pair_order", "diff_positive", "direction_match",
    "pair_same_kind", "counted_hit", "negated_hit", "q_price", "price_table", "clause_year_match", "has_name",
    "key_credit", "strict_cov", "label_strict", "proper_missed",
    "q_int_budget", "q_int_actual", "q_int_diff", "q_int_change", "q_int_percent",
    # prose with its neighbouring sentences (other kinds: their own coverage)
    "cov_ctx", "missed_ctx", "missed_known",
    # dense similarity with the trained question adapter, over all candidates (rag/adapter.py)
    "dense_tuned", "tuned_gap", "tuned_rank",
    # 1 when the question has no vector from the embedding model the ranker was trained with (no
    # embedder, or another model): every dense feature is then 0, and the ranker, trained on
    # both views of each question, leans on the lexical ones
    "dense_off",
)
F = {name: i for i, name in enumerate(FEATURES)}
DENSE_FEATURES: tuple[str, ...] = (
    "dense_main", "dense_gap", "dense_rank", "dense_col", "dense_tuned", "tuned_gap", "tuned_rank",
)
