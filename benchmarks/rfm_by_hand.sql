-- The `rfm` preset over an orders file with customer_id, ordered_at and amount, written by hand
-- as one DuckDB query: what a SQL expert would write for this one file and this one policy.
-- benchmarks/rfm.py runs it as the floor: no tool can grade RFM with less work than this.
-- Three aggregates; each axis scored 1..5 at its value quintiles (the preset's `method: value`:
-- the breakpoint b_k is the value at 1-based position ceil(k n / 5) of the sorted values, upper
-- edges inclusive, recency reversed), the rf10 segments, rows in customer_id order, Parquet out.
-- Placeholders: {orders} (a quoted path), {as_of}, {output} (a quoted path).
COPY (
WITH per_customer AS (
  SELECT customer_id,
    DATE '{as_of}' - max(ordered_at) AS recency_days,
    count(*) AS orders_all,
    sum(amount) AS spend_all
  FROM read_parquet({orders}) WHERE ordered_at <= DATE '{as_of}'
  GROUP BY customer_id
), sorted AS (
  SELECT list_sort(list(recency_days)) AS r, list_sort(list(orders_all)) AS f,
    list_sort(list(spend_all)) AS m, count(*) AS n
  FROM per_customer
), cuts AS (
  SELECT r[(n + 4) // 5] AS r1, r[(2 * n + 4) // 5] AS r2, r[(3 * n + 4) // 5] AS r3, r[(4 * n + 4) // 5] AS r4,
    f[(n + 4) // 5] AS f1, f[(2 * n + 4) // 5] AS f2, f[(3 * n + 4) // 5] AS f3, f[(4 * n + 4) // 5] AS f4,
    m[(n + 4) // 5] AS m1, m[(2 * n + 4) // 5] AS m2, m[(3 * n + 4) // 5] AS m3, m[(4 * n + 4) // 5] AS m4
  FROM sorted
), scored AS (
  SELECT customer_id, recency_days, orders_all, spend_all,
    5 - ((recency_days > r1)::INT + (recency_days > r2)::INT + (recency_days > r3)::INT + (recency_days > r4)::INT) AS r,
    1 + (orders_all > f1)::INT + (orders_all > f2)::INT + (orders_all > f3)::INT + (orders_all > f4)::INT AS f,
    1 + (spend_all > m1)::INT + (spend_all > m2)::INT + (spend_all > m3)::INT + (spend_all > m4)::INT AS m
  FROM per_customer, cuts
)
SELECT customer_id, r AS rfm_r, f AS rfm_f, m AS rfm_m,
  CASE
    WHEN r = 5 AND f >= 4 THEN 'champions'
    WHEN r BETWEEN 3 AND 4 AND f >= 4 THEN 'loyal_customers'
    WHEN r >= 4 AND f BETWEEN 2 AND 3 THEN 'potential_loyalists'
    WHEN r = 5 AND f = 1 THEN 'new_customers'
    WHEN r = 4 AND f = 1 THEN 'promising'
    WHEN r = 3 AND f = 3 THEN 'need_attention'
    WHEN r = 3 THEN 'about_to_sleep'
    WHEN f BETWEEN 3 AND 4 THEN 'at_risk'
    WHEN f = 5 THEN 'cant_lose_them'
    ELSE 'hibernating'
  END AS rfm_segment,
  recency_days, orders_all, spend_all
FROM scored
ORDER BY customer_id
) TO {output} (FORMAT parquet)
