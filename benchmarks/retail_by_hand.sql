-- The `retail` preset over an orders file with customer_id, ordered_at and amount only, written
-- by hand as one DuckDB query: what a SQL expert would write for this one file and this one
-- policy (columns the file lacks and the missing interactions table are folded to constants).
-- benchmarks/grade.py runs it as the floor: no tool can grade with less work than this. Its
-- reasons carry what tierkit's lean reasons carry (docs/scores.md), byte for byte; until
-- 2026-12-05 both carried the rule, the classes, the tags and the values too.
-- Placeholders: {orders} (a quoted path), {as_of} and the window starts {m6}, {m12}, {m24}, {m36}.
COPY (
WITH per_customer AS (
  SELECT customer_id,
    max(ordered_at) AS last_order,
    sum(amount) FILTER (WHERE ordered_at > DATE '{m12}') AS s0,
    sum(amount) FILTER (WHERE ordered_at > DATE '{m24}' AND ordered_at <= DATE '{m12}') AS s1,
    sum(amount) FILTER (WHERE ordered_at > DATE '{m36}' AND ordered_at <= DATE '{m24}') AS s2,
    count(*) FILTER (WHERE ordered_at > DATE '{m6}') AS c0,
    count(*) FILTER (WHERE ordered_at > DATE '{m12}' AND ordered_at <= DATE '{m6}') AS c1
  FROM read_parquet({orders}) WHERE ordered_at <= DATE '{as_of}'
  GROUP BY customer_id
), metrics AS (
  SELECT customer_id,
    coalesce(s0, 0) AS spend_12m,
    c0 + c1 AS orders_12m,
    (c0 + c1) / 12.0 AS orders_per_month,
    CASE WHEN coalesce(s0, 0) >= 10000 THEN 1 + CASE WHEN coalesce(s1, 0) >= 10000
      THEN 1 + CASE WHEN coalesce(s2, 0) >= 10000 THEN 1 ELSE 0 END ELSE 0 END ELSE 0 END AS loyal_years,
    DATE '{as_of}' - last_order AS recency_days,
    CASE WHEN c1 <> 0 THEN c0 / c1 END AS order_trend_6m,
    CAST(NULL AS DOUBLE) AS discounted_share_12m  -- no discount column: unknown
  FROM per_customer
), ranked AS (
  SELECT *, count(*) OVER () AS n,
    row_number() OVER (ORDER BY spend_12m DESC, customer_id) AS spend_rank,
    sum(spend_12m) OVER (ORDER BY spend_12m DESC, customer_id ROWS UNBOUNDED PRECEDING) - spend_12m AS above,
    sum(spend_12m) OVER () AS total
  FROM metrics
), graded AS (
  SELECT *,
    CASE WHEN above * 5 < total * 4 THEN 'A' WHEN above * 20 < total * 19 THEN 'B' ELSE 'C' END AS abc,
    CASE WHEN spend_rank * 100 <= n THEN 'key' WHEN spend_rank * 5 <= n THEN 'major'
      WHEN spend_rank * 2 <= n THEN 'ordinary' ELSE 'small' END AS pyramid,
    CASE WHEN spend_12m > 100000 AND (orders_per_month > 5 OR loyal_years >= 3) THEN 'vip'
      WHEN spend_12m >= 50000 OR orders_per_month >= 2 THEN 'regular' ELSE 'potential' END AS tier,
    coalesce(order_trend_6m < 0.5 AND orders_12m >= 4, false) AS tag_slowing_down,
    coalesce(discounted_share_12m <= 0.1 AND orders_12m >= 6, false) AS tag_quality_sensitive
  FROM ranked
)
-- the output (retail_same_file_by_hand.sql replaces what follows with tierkit's whole row)
SELECT customer_id, tier, abc, pyramid,
  concat_ws(',', CASE WHEN tag_slowing_down THEN 'slowing_down' END,
    CASE WHEN tag_quality_sensitive THEN 'quality_sensitive' END) AS tags,
  tag_slowing_down, tag_quality_sensitive,
  spend_12m, orders_12m, orders_per_month, loyal_years, recency_days, order_trend_6m, discounted_share_12m,
  -- the reasons as tierkit keeps them (lean): what neither the row's columns nor the policy say
  concat_ws('', '{{"abc":{{"share_above":', CAST(CAST(above / total AS DECIMAL(18, 4)) AS VARCHAR),
    '}},"pyramid":{{"rank":', spend_rank, ',"of":', n, '}}}}') AS reasons
FROM graded
ORDER BY customer_id
) TO {output} (FORMAT parquet)
