-- bench/peers/pg_purchase.sql — the SQL peer's purchase (sql_peer.cpp, Peer::purchase and its §8
-- work list) as one PL/pgSQL function, for many concurrent clients: `bench/serve` drives it with
-- pgbench, one transaction per event (`SELECT upline_purchase(...)`, autocommit), against
-- upline serve's POST /v1/events.
--
-- The same schema as the peer, the same statements in the same order (order lookup, buyer row,
-- one recursive CTE per tier the buyer holds, INSERT orders, the buyer's UPDATE, one UPDATE
-- members + INSERT credits per upline credit, then the work list: member row, lifetime, direct
-- referrals, filled levels, promotion, rewards) and the same exact arithmetic (numeric, rounded
-- once, half to even). The host logic moved into the server, so an event costs one client round
-- trip instead of ~25: this favours PostgreSQL against the client-side peer.
--
-- The plan is examples/plans/four-tier.json, written out as constants below (compression off,
-- every matrix breadth-first, L = 1 level of ancestors re-examined after a promotion). A matrix's
-- next node number comes from a sequence per tier (the peer keeps the same counter in the host);
-- `bench/serve` first checks it against `upline replay --dump` on a small workload (--no-pg-check skips that).
--
-- Loading members: upline_load_joins() turns rows of `joins (seq, member, sponsor)` (file order)
-- into what the peer's join leaves for a bronze newcomer — a members row, its referral count and a
-- node of the bronze matrix — in bulk. At lifetime 0 no join can promote anybody in this plan (every
-- higher tier needs lifetime points) nor grant a reward, so that is all a join writes.

CREATE TABLE members (id BIGINT PRIMARY KEY, sponsor BIGINT, tier INTEGER NOT NULL, status INTEGER NOT NULL,
  balance BIGINT NOT NULL, lifetime BIGINT NOT NULL, orders BIGINT NOT NULL);
CREATE TABLE nodes (tier INTEGER NOT NULL, node BIGINT NOT NULL, member BIGINT NOT NULL, parent BIGINT,
  pos INTEGER NOT NULL, PRIMARY KEY (tier, node));
CREATE UNIQUE INDEX nodes_by_member ON nodes (member, tier);
CREATE TABLE referrals_by_tier (sponsor BIGINT NOT NULL, tier INTEGER NOT NULL, n BIGINT NOT NULL,
  PRIMARY KEY (sponsor, tier));
CREATE TABLE orders (ref TEXT PRIMARY KEY, member BIGINT NOT NULL, shop TEXT NOT NULL, amount BIGINT NOT NULL,
  refunded BIGINT NOT NULL, at_ms BIGINT NOT NULL);
CREATE TABLE credits (order_ref TEXT NOT NULL, seq INTEGER NOT NULL, member BIGINT NOT NULL,
  points BIGINT NOT NULL, clawed BIGINT NOT NULL, PRIMARY KEY (order_ref, seq));
CREATE TABLE redemptions (ref TEXT PRIMARY KEY, member BIGINT NOT NULL, points BIGINT NOT NULL, at_ms BIGINT NOT NULL);
CREATE TABLE rewards (member BIGINT NOT NULL, seq INTEGER NOT NULL, reward TEXT NOT NULL, PRIMARY KEY (member, reward));
CREATE SEQUENCE node_seq_0 MINVALUE 0 START 0;
CREATE SEQUENCE node_seq_1 MINVALUE 0 START 0;
CREATE SEQUENCE node_seq_2 MINVALUE 0 START 0;
CREATE SEQUENCE node_seq_3 MINVALUE 0 START 0;
CREATE TABLE joins (seq BIGINT PRIMARY KEY, member BIGINT NOT NULL, sponsor BIGINT);

-- x >= 0 rounded to an integer, half to even.
CREATE FUNCTION upline_rhe(x numeric) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN x - floor(x) = 0.5 AND floor(x)::bigint % 2 = 0 THEN floor(x)::bigint
              WHEN x - floor(x) = 0.5 THEN floor(x)::bigint + 1
              ELSE round(x)::bigint END
$$;

-- Tier t's rates (level k earns rates[k]).
CREATE FUNCTION upline_rates(t int) RETURNS numeric[] LANGUAGE sql IMMUTABLE AS $$
  SELECT (CASE t WHEN 0 THEN '{0.05,0.03,0.02}' WHEN 1 THEN '{0.04,0.03,0.02,0.01}'
                 WHEN 2 THEN '{0.03,0.02,0.02,0.01,0.01}' ELSE '{0.02,0.02,0.01,0.01,0.01,0.01}' END)::numeric[]
$$;

-- The ancestors of member m in tier t's matrix, nearest first, at most `lim` levels: the peer's
-- recursive CTE (compression off), word for word.
CREATE FUNCTION upline_ancestors(m bigint, t int, lim int) RETURNS TABLE (member bigint, tier int, status int)
LANGUAGE sql STABLE AS $$
  WITH RECURSIVE up (node, depth, act) AS (
    SELECT b.parent, 1, 0 FROM nodes b WHERE b.member = m AND b.tier = t AND b.parent IS NOT NULL
    UNION ALL
    SELECT a.parent, up.depth + 1, up.act + (CASE WHEN mm.status = 0 THEN 1 ELSE 0 END)
    FROM up CROSS JOIN nodes a CROSS JOIN members mm
    WHERE a.tier = t AND a.node = up.node AND mm.id = a.member AND a.parent IS NOT NULL AND up.depth < lim)
  SELECT a.member, mm.tier, mm.status FROM up CROSS JOIN nodes a CROSS JOIN members mm
  WHERE a.tier = t AND a.node = up.node AND mm.id = a.member ORDER BY up.depth
$$;

-- §5 placement: the next node of tier t's matrix, breadth-first.
CREATE FUNCTION upline_place(m bigint, t int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  n bigint := nextval('node_seq_' || t);
  w int := (ARRAY[3, 3, 4, 4])[t + 1];
BEGIN
  IF n = 0 THEN
    INSERT INTO nodes (tier, node, member, parent, pos) VALUES (t, 0, m, NULL, 0);
  ELSE
    INSERT INTO nodes (tier, node, member, parent, pos) VALUES (t, n, m, (n - 1) / w, (n - 1) % w);
  END IF;
END $$;

-- §8: the work list, FIFO, a member at most once in it at a time; promotions and rewards.
CREATE FUNCTION upline_settle(work bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  i int := 1;
  m bigint;
  r record;
  cur int;          -- the member's tier
  ok boolean;
  refs bigint;
  slot bigint;
  cnt bigint;
  x bigint;
  have text[];
  k int;
  -- promote_at of tiers 1..3: lifetime points (units), direct referrals (count, min tier), filled levels
  need_life bigint[] := ARRAY[100000, 500000, 2000000];
  need_refs int[] := ARRAY[2, 3, 2];
  need_min int[] := ARRAY[0, 1, 2];
  need_filled int[] := ARRAY[0, 0, 1];
  widths int[] := ARRAY[3, 3, 4, 4];
  reward_ids text[] := ARRAY['gift-500', 'voucher-2500', 'trip-10000'];
  reward_at bigint[] := ARRAY[50000, 250000, 1000000];
BEGIN
  WHILE i <= coalesce(array_length(work, 1), 0) LOOP
    m := work[i];
    i := i + 1;
    SELECT mm.tier, mm.status, mm.lifetime, mm.sponsor INTO r FROM members mm WHERE mm.id = m;
    IF r.status <> 0 THEN CONTINUE; END IF;
    cur := r.tier;
    WHILE cur + 1 < 4 LOOP
      ok := r.lifetime >= need_life[cur + 1];
      IF ok THEN
        SELECT COALESCE(SUM(rt.n), 0) INTO refs FROM referrals_by_tier rt WHERE rt.sponsor = m AND rt.tier >= need_min[cur + 1];
        ok := refs >= need_refs[cur + 1];
      END IF;
      IF ok AND need_filled[cur + 1] > 0 THEN
        -- Below node n, k levels are filled iff r = n, k times r = r*w + w, stays < the node count.
        SELECT nd.node INTO slot FROM nodes nd WHERE nd.member = m AND nd.tier = cur;
        SELECT max(nd.node) + 1 INTO cnt FROM nodes nd WHERE nd.tier = cur;
        FOR k IN 1..need_filled[cur + 1] LOOP
          slot := slot * widths[cur + 1] + widths[cur + 1];
          IF slot >= cnt THEN ok := false; EXIT; END IF;
        END LOOP;
      END IF;
      EXIT WHEN NOT ok;
      UPDATE members mm SET tier = cur + 1 WHERE mm.id = m;
      IF r.sponsor IS NOT NULL THEN
        UPDATE referrals_by_tier rt SET n = rt.n - 1 WHERE rt.sponsor = r.sponsor AND rt.tier = cur;
        INSERT INTO referrals_by_tier AS rt (sponsor, tier, n) VALUES (r.sponsor, cur + 1, 1)
          ON CONFLICT (sponsor, tier) DO UPDATE SET n = rt.n + 1;
      END IF;
      PERFORM upline_place(m, cur + 1);
      IF r.sponsor IS NOT NULL AND NOT (r.sponsor = ANY (work[i:])) THEN work := work || r.sponsor; END IF;
      FOR x IN SELECT a.member FROM upline_ancestors(m, cur + 1, 1) a LOOP  -- L = 1
        IF NOT (x = ANY (work[i:])) THEN work := work || x; END IF;
      END LOOP;
      cur := cur + 1;
    END LOOP;
    IF r.lifetime >= reward_at[1] THEN
      SELECT coalesce(array_agg(rw.reward ORDER BY rw.seq), '{}') INTO have FROM rewards rw WHERE rw.member = m;
      FOR k IN 1..3 LOOP
        IF r.lifetime >= reward_at[k] AND NOT (reward_ids[k] = ANY (have)) THEN
          INSERT INTO rewards (member, seq, reward) VALUES (m, coalesce(array_length(have, 1), 0), reward_ids[k]);
          have := have || reward_ids[k];
        END IF;
      END LOOP;
    END IF;
  END LOOP;
END $$;

-- One purchase: 'ok' or the rejection code (nothing written then). amount in cents (money_scale 2).
CREATE FUNCTION upline_purchase(p_ref text, p_member bigint, p_shop text, p_amount bigint, p_at bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  b record;
  a record;
  ratio numeric;
  min_basket bigint;
  hist numeric;
  pts bigint := 0;
  rates numeric[];
  lvl int;
  c bigint;
  own bigint;
  cm bigint[] := '{}';
  cp bigint[] := '{}';
  work bigint[] := '{}';
  t int;
BEGIN
  PERFORM 1 FROM orders o WHERE o.ref = p_ref;
  IF FOUND THEN RETURN 'duplicate_order'; END IF;
  SELECT mm.tier, mm.status, mm.lifetime, mm.sponsor, mm.balance, mm.orders INTO b FROM members mm WHERE mm.id = p_member;
  IF NOT FOUND THEN RETURN 'unknown_member'; END IF;
  IF p_shop = 'main' THEN ratio := 1; min_basket := 0;
  ELSIF p_shop = 'outlet' THEN ratio := 0.5; min_basket := 2000;
  ELSE RETURN 'unknown_shop'; END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN RETURN 'invalid_amount'; END IF;
  hist := CASE WHEN b.orders >= 20 THEN 1.1 WHEN b.orders >= 5 THEN 1.05 ELSE 1 END;
  IF p_amount >= min_basket THEN
    pts := upline_rhe(p_amount * ratio * hist * (ARRAY[1, 1.1, 1.2, 1.3]::numeric[])[b.tier + 1]);
  END IF;
  IF pts > 0 THEN
    IF b.status = 0 THEN cm := cm || p_member; cp := cp || pts; END IF;
    FOR t IN 0..b.tier LOOP
      rates := upline_rates(t);
      lvl := 1;
      FOR a IN SELECT * FROM upline_ancestors(p_member, t, array_length(rates, 1)) LOOP
        EXIT WHEN lvl > array_length(rates, 1);
        IF a.status = 0 THEN
          c := upline_rhe(pts * rates[lvl] * (ARRAY[1, 1.2, 1.5, 2]::numeric[])[a.tier + 1]);
          IF c > 0 THEN cm := cm || a.member; cp := cp || c; END IF;
        END IF;
        lvl := lvl + 1;
      END LOOP;
    END LOOP;
  END IF;
  INSERT INTO orders (ref, member, shop, amount, refunded, at_ms) VALUES (p_ref, p_member, p_shop, p_amount, 0, p_at);
  own := CASE WHEN pts > 0 AND b.status = 0 THEN pts ELSE 0 END;
  UPDATE members mm SET orders = mm.orders + 1, balance = mm.balance + own, lifetime = mm.lifetime + own WHERE mm.id = p_member;
  FOR k IN 1..coalesce(array_length(cm, 1), 0) LOOP
    IF k > 1 OR own = 0 THEN
      UPDATE members mm SET balance = mm.balance + cp[k], lifetime = mm.lifetime + cp[k] WHERE mm.id = cm[k];
    END IF;
    INSERT INTO credits (order_ref, seq, member, points, clawed) VALUES (p_ref, k - 1, cm[k], cp[k], 0);
  END LOOP;
  FOR k IN 1..coalesce(array_length(cm, 1), 0) LOOP
    IF NOT (cm[k] = ANY (work)) THEN work := work || cm[k]; END IF;
  END LOOP;
  PERFORM upline_settle(work);
  RETURN 'ok';
END $$;

-- The joins in `joins`, in seq order, as the peer's join leaves them (see the header).
CREATE FUNCTION upline_load_joins() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  INSERT INTO members (id, sponsor, tier, status, balance, lifetime, orders)
    SELECT member, sponsor, 0, 0, 0, 0, 0 FROM joins ORDER BY seq;
  INSERT INTO referrals_by_tier (sponsor, tier, n)
    SELECT sponsor, 0, count(*) FROM joins WHERE sponsor IS NOT NULL GROUP BY sponsor;
  INSERT INTO nodes (tier, node, member, parent, pos)
    SELECT 0, k, member, CASE WHEN k = 0 THEN NULL ELSE (k - 1) / 3 END, CASE WHEN k = 0 THEN 0 ELSE (k - 1) % 3 END
    FROM (SELECT row_number() OVER (ORDER BY seq) - 1 AS k, member FROM joins) j;
  SELECT count(*) INTO n FROM joins;
  IF n > 0 THEN PERFORM setval('node_seq_0', n, false); END IF;
  RETURN n;
END $$;
