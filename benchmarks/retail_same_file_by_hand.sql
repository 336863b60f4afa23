-- The `retail` preset's whole output file written by hand as one DuckDB query: the floor of
-- retail_by_hand.sql, plus every column tierkit's result has (the labels, the loyalty score,
-- all six tag flags, the metrics this file cannot feed, as the constants they fold to), in
-- tierkit's order and types, so that the file is tierkit's row for row and cell for cell
-- (benchmarks/grade.py checks it: `same_file_agrees`). What tierkit costs beyond this is the
-- tool itself: Python, planning and the shape of the SQL it generates.
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
    CAST(CASE WHEN coalesce(s0, 0) >= 10000 THEN 1 + CASE WHEN coalesce(s1, 0) >= 10000
      THEN 1 + CASE WHEN coalesce(s2, 0) >= 10000 THEN 1 ELSE 0 END ELSE 0 END ELSE 0 END AS BIGINT) AS loyal_years,
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
    coalesce(order_trend_6m < 0.5 AND orders_12m >= 4, false) AS tag_slowing_down
  FROM ranked
)
SELECT customer_id, tier,
  CASE tier WHEN 'vip' THEN 'VIP客户' WHEN 'regular' THEN '普通客户' WHEN 'potential' THEN '潜在客户' END AS tier_label,
  abc, pyramid,
  CASE WHEN loyal_years < 1 THEN 'disloyal' WHEN loyal_years < 3 THEN 'potential_loyal' ELSE 'loyal' END AS loyalty,
  CASE WHEN tag_slowing_down THEN 'slowing_down' ELSE '' END AS tags,
  false AS tag_serial_complainer, tag_slowing_down, false AS tag_late_payer, false AS tag_asks_but_does_not_buy,
  false AS tag_price_sensitive, false AS tag_quality_sensitive,
  spend_12m, orders_12m, orders_per_month, loyal_years, recency_days, order_trend_6m,
  CAST(NULL AS BIGINT) AS late_payments_12m, CAST(0 AS BIGINT) AS complaints_90d, CAST(0 AS BIGINT) AS inquiries_90d,
  CAST(NULL AS BIGINT) AS discounted_orders_12m, discounted_share_12m,
  CAST(0 AS BIGINT) AS price_topics_12m, CAST(0 AS BIGINT) AS quality_topics_12m,
  concat_ws('', '{{"abc":{{"share_above":', CAST(CAST(above / total AS DECIMAL(18, 4)) AS VARCHAR),
    '}},"pyramid":{{"rank":', spend_rank, ',"of":', n, '}}}}') AS reasons
FROM graded
ORDER BY customer_id
) TO {output} (FORMAT parquet)
