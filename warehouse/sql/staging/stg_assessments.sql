-- materialized: table
-- LSG assessments: the one used per round x municipality is the latest live one that is not
-- rejected; the others are kept with the reason they were not used.
SELECT
    l._id AS submission_id,
    coalesce(l.study_round, m.definition_round) AS round,
    l.municipality AS municipality_code,
    l.assessor, l.assessment_date, l._submission_time AS submitted_at,
    l._validation_status AS validation_status,
    CASE WHEN l._validation_status = 'validation_status_not_approved' THEN 'not_approved'
         WHEN row_number() OVER (
             -- a status not set yet is NULL: IS NOT DISTINCT FROM keeps it with the approved
             -- ones (a plain = would make NULL a partition of its own, and two assessments used)
             PARTITION BY coalesce(l.study_round, m.definition_round), l.municipality,
                          l._validation_status IS NOT DISTINCT FROM 'validation_status_not_approved'
             ORDER BY l.assessment_date DESC NULLS LAST, l._submission_time DESC, l._id DESC) > 1
             THEN 'superseded_by_a_later_assessment'
    END AS excluded_reason
FROM src_lsg l CROSS JOIN study_method m
