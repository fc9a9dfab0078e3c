-- Fails the statement (and so its transaction) unless `held` is true: a write transaction asserts with it that what it took from memory (the caller behind a token, remembered devices) still holds, before its COMMIT, without reading the facts back.
CREATE OR REPLACE FUNCTION tributary_confirm(held boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF held IS NOT TRUE THEN
    RAISE EXCEPTION 'a remembered fact no longer holds' USING ERRCODE = 'TRB01';
  END IF;
END
$$;
