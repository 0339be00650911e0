-- Interviews per round x municipality x reason, as 'aimak score' reports them: 'excluded' counts
-- the interviews left out of the scores for this reason (each interview once, under its first
-- reason: fct_interviews.excluded_reason), 'flagged' every interview the reason applies to (also
-- those left out for an earlier reason, and those kept because the reason's exclusion is off:
-- 'excludes' false). 'interviews' is every live interview of the round x municipality.
WITH reasons AS (
    SELECT submission_id, 'not_approved' AS reason FROM fct_interviews
    WHERE validation_status = 'validation_status_not_approved'
    UNION ALL
    SELECT submission_id, 'no_consent' FROM fct_interviews WHERE coalesce(consent, '') <> 'yes'
    UNION ALL
    SELECT submission_id, excluded_reason FROM fct_interviews
    WHERE excluded_reason IN ('outside_geography', 'no_profile')
    UNION ALL
    SELECT submission_id, rule FROM quality_flags
),
totals AS (
    SELECT round, municipality_code, count(*) AS interviews FROM fct_interviews GROUP BY ALL
)
SELECT i.round, i.municipality_code, r.reason,
       CASE r.reason WHEN 'not_approved' THEN any_value(m.exclude_not_approved)
                     WHEN 'no_consent' THEN any_value(m.exclude_no_consent)
                     WHEN 'outside_geography' THEN true
                     WHEN 'no_profile' THEN true
                     ELSE list_contains(any_value(m.exclude_rules), r.reason) END AS excludes,
       count(*) FILTER (WHERE i.excluded_reason = r.reason) AS excluded,
       count(*) AS flagged,
       any_value(t.interviews) AS interviews
FROM reasons r
JOIN fct_interviews i USING (submission_id)
JOIN totals t USING (round, municipality_code)
CROSS JOIN study_method m
GROUP BY i.round, i.municipality_code, r.reason
