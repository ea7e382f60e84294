-- 变更公告: a change to a published announcement is published too (RULES 3.1, Q29),
-- as its own document, any number per plan; still one announcement and one
-- result per plan.
ALTER TABLE publications DROP CONSTRAINT publications_kind_check;
ALTER TABLE publications ADD CONSTRAINT publications_kind_check
    CHECK (kind IN ('ANNOUNCEMENT', 'ANNOUNCEMENT_CHANGE', 'RESULT'));
ALTER TABLE publications DROP CONSTRAINT publications_plan_id_kind_key;
CREATE UNIQUE INDEX publications_one_per_plan ON publications (plan_id, kind) WHERE kind <> 'ANNOUNCEMENT_CHANGE';
