-- After the deal (docs/publication.md, "After the deal"): the actual construction start
-- and completion (实际开工时间, 实际竣工时间) and the installments as paid, recorded
-- later. Each recording is a row, never changed: the facts in force are the fold of
-- the plan's rows in version order. Each produces version `version` (2, 3, ...) of the
-- plan's result, a RESULT_UPDATE document `RES-{plan_id}-{version}`, written in the
-- same transaction with its outbox rows.
CREATE TABLE post_deal_records (
    plan_id                text NOT NULL REFERENCES plans (plan_id),
    version                integer NOT NULL CHECK (version >= 2),
    actual_start_date      date,
    actual_completion_date date,
    payments               jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{period, paid_date, amount_fen}]
    document_id            text NOT NULL UNIQUE REFERENCES publications (document_id),
    recorded_by            text NOT NULL,
    recorded_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, version),
    CHECK (actual_start_date IS NOT NULL OR actual_completion_date IS NOT NULL OR payments <> '[]'::jsonb)
);
SELECT make_append_only('post_deal_records');  -- (0015)

-- The updated result is a document of its own kind, any number per plan; still one
-- announcement and one result (sold or not) per plan.
ALTER TABLE publications DROP CONSTRAINT publications_kind_check;
ALTER TABLE publications ADD CONSTRAINT publications_kind_check
    CHECK (kind IN ('ANNOUNCEMENT', 'ANNOUNCEMENT_CHANGE', 'RESULT', 'RESULT_UNSOLD', 'RESULT_UPDATE'));
DROP INDEX publications_one_per_plan;
CREATE UNIQUE INDEX publications_one_per_plan ON publications (plan_id, kind)
    WHERE kind NOT IN ('ANNOUNCEMENT_CHANGE', 'RESULT_UPDATE');
