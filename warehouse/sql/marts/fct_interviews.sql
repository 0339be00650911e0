-- One row per live citizen interview: used in the scores, or left out and why, with every quality
-- rule it breaks (flags, in the order of forms.definition.QUALITY_RULES) and whether it is a
-- completed interview for the fieldwork counts (consent given, not rejected by a supervisor, not
-- a second copy of another submission). The reason it is left out is the first that applies:
-- rejected by a supervisor (validation status "not approved"), no consent (each when
-- quality.exclude says so), a place outside the study's geography or no sex / age group (the
-- weights need both), then the first quality rule it breaks whose exclusion is on.
WITH broken AS (
    SELECT q.submission_id,
           list(q.rule ORDER BY list_position(m.quality_rules, q.rule)) AS flags,
           min_by(q.rule, list_position(m.quality_rules, q.rule)) FILTER (WHERE q.excludes)
               AS first_excluding
    FROM quality_flags q CROSS JOIN study_method m
    GROUP BY q.submission_id
)
SELECT
    i.*,
    reason IS NULL AS used,
    reason AS excluded_reason
FROM (
    SELECT i.*,
        coalesce(b.flags, CAST([] AS VARCHAR[])) AS flags,
        coalesce(i.consent, '') = 'yes'
            AND coalesce(i.validation_status, '') <> 'validation_status_not_approved'
            AND NOT list_contains(coalesce(b.flags, CAST([] AS VARCHAR[])), 'duplicate_instance')
            AS completed,
        CASE
            WHEN m.exclude_not_approved AND i.validation_status = 'validation_status_not_approved'
                THEN 'not_approved'
            WHEN m.exclude_no_consent AND coalesce(i.consent, '') <> 'yes' THEN 'no_consent'
            WHEN v.village_code IS NULL OR v.municipality_code <> i.municipality_code
                THEN 'outside_geography'
            WHEN i.sex IS NULL OR i.age_group IS NULL THEN 'no_profile'
            ELSE b.first_excluding
        END AS reason
    FROM stg_interviews i
    CROSS JOIN study_method m
    LEFT JOIN dim_village v ON v.village_code = i.village_code
    LEFT JOIN broken b ON b.submission_id = i.submission_id
) i
