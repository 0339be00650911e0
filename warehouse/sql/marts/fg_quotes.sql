-- The quote bank: every quote of a focus-group session that counts, with its theme, service and
-- sentiment, who said it (the roster's anonymous code, with that participant's sex, age group
-- and role) and when (minute of the session), the group type, the municipality and the date.
WITH roster AS (
    SELECT _submission__id AS submission_id, fg_p_code AS participant_code,
           any_value(fg_p_sex) AS participant_sex, any_value(fg_p_age_group) AS participant_age_group,
           any_value(fg_p_role) AS participant_role
    FROM src_fg_participant
    WHERE fg_p_code IS NOT NULL
    GROUP BY ALL
)
SELECT
    t.round, t.municipality_code, t.village_code, t.group_type, t.session_date,
    t.service_code, t.theme_code, t.sentiment,
    q.fg_quote_text AS quote,
    q.fg_quote_participant AS participant_code,
    r.participant_sex, r.participant_age_group, r.participant_role,
    q.fg_quote_minute AS minute,
    t.submission_id, t.instance_name, t.theme_index,
    q._index AS quote_index
FROM src_fg_quote q
JOIN fct_fg_mentions t ON t.submission_id = q._submission__id AND t.theme_index = q._parent_index
LEFT JOIN roster r ON r.submission_id = q._submission__id
                  AND r.participant_code = q.fg_quote_participant
WHERE q.fg_quote_text IS NOT NULL
