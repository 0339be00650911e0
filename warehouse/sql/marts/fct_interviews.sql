-- One row per live citizen interview: used in the scores, or left out and why. Reasons, in order:
-- rejected by a supervisor (validation status "not approved"), no consent, a place outside the
-- study's geography or no sex / age group, then each quality rule set to exclude.
SELECT
    i.*,
    reason IS NULL AS used,
    reason AS excluded_reason
FROM (
    SELECT i.*,
        CASE
            WHEN m.exclude_not_approved AND i.validation_status = 'validation_status_not_approved'
                THEN 'not_approved'
            WHEN m.exclude_no_consent AND coalesce(i.consent, '') <> 'yes' THEN 'no_consent'
            WHEN v.village_code IS NULL OR v.municipality_code <> i.municipality_code
                THEN 'outside_geography'
            WHEN i.sex IS NULL OR i.age_group IS NULL THEN 'no_profile'
            ELSE (SELECT min(q.rule) FROM quality_flags q
                  WHERE q.submission_id = i.submission_id AND list_contains(m.exclude_rules, q.rule))
        END AS reason
    FROM stg_interviews i
    CROSS JOIN study_method m
    LEFT JOIN dim_village v ON v.village_code = i.village_code
) i
