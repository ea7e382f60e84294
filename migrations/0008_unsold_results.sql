-- 结果公示（未成交）: a plan whose session did not sell (流拍) or was terminated (终止)
-- has its result published too (RULES 8.3, Q29), as RES-{plan_id} like a sale's:
-- the primary key keeps it to one result per plan, sold or not.
ALTER TABLE publications DROP CONSTRAINT publications_kind_check;
ALTER TABLE publications ADD CONSTRAINT publications_kind_check
    CHECK (kind IN ('ANNOUNCEMENT', 'ANNOUNCEMENT_CHANGE', 'RESULT', 'RESULT_UNSOLD'));
-- And in the index too, whatever the document id: one result per plan, sold or not.
CREATE UNIQUE INDEX publications_one_result_per_plan ON publications (plan_id)
    WHERE kind IN ('RESULT', 'RESULT_UNSOLD');
