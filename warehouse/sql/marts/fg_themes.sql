-- Focus-group themes per round x municipality x service x group type x theme x sentiment: in how
-- many sessions the theme was raised (of the sessions of that group type held there), how many
-- participants agreed, out of how many took part in those sessions. A theme entered twice in
-- one session counts once, with its larger agreement. Counts, not shares: a handful of sessions
-- supports no percentage (methodology.md section 7).
WITH per_session AS (
    SELECT round, municipality_code, service_code, group_type, theme_code, sentiment,
           submission_id, max(agreed) AS agreed, any_value(participants) AS participants,
           count(*) AS mentions
    FROM fct_fg_mentions
    GROUP BY ALL
),
held AS (
    SELECT round, municipality_code, group_type, count(*) AS sessions_held
    FROM stg_focus_groups WHERE excluded_reason IS NULL
    GROUP BY ALL
)
SELECT p.round, p.municipality_code, p.service_code, p.group_type, p.theme_code, p.sentiment,
       count(*) AS sessions,
       any_value(h.sessions_held) AS sessions_held,
       CAST(sum(p.agreed) AS BIGINT) AS participants_agreed,
       CAST(sum(p.participants) AS BIGINT) AS participants_present,
       CAST(sum(p.mentions) AS BIGINT) AS mentions
FROM per_session p
JOIN held h USING (round, municipality_code, group_type)
GROUP BY p.round, p.municipality_code, p.service_code, p.group_type, p.theme_code, p.sentiment
