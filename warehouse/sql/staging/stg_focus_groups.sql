-- materialized: table
-- One row per live focus-group session: where, when, which group, how many took part (the
-- roster's rows; the form's own count when the roster is missing) and whether it counts: a
-- session a supervisor rejected (validation status "not approved") does not, when
-- quality.exclude.not_approved is on, as for the interviews.
SELECT
    f._id AS submission_id,
    f._instance_id AS instance_id,
    n.instance_name,
    coalesce(f.study_round, m.definition_round) AS round,
    f.municipality AS municipality_code,
    f.village AS village_code,
    coalesce(f.fg_date, CAST(timezone(m.time_zone, f.start) AS DATE)) AS session_date,
    f.fg_group_type AS group_type,
    f.fg_moderator AS moderator,
    f.fg_language AS language,
    coalesce(p.participants, TRY_CAST(f.fg_n_participants AS BIGINT), 0) AS participants,
    f._validation_status AS validation_status,
    CASE WHEN m.exclude_not_approved AND f._validation_status = 'validation_status_not_approved'
         THEN 'not_approved' END AS excluded_reason
FROM src_fg f
CROSS JOIN study_method m
LEFT JOIN (SELECT _submission__id, count(*) AS participants FROM src_fg_participant
           GROUP BY ALL) p ON p._submission__id = f._id
LEFT JOIN (SELECT submission_id, instance_name FROM src_instance_names
           WHERE form_id = 'focus_group') n ON n.submission_id = f._id
