-- An order's charge to its account's balance, as a statement that fails
-- when the balance cannot cover it instead of updating no row: so it can
-- be held back and sent with the order's next round trip (its failure
-- aborts the transaction, as the order's refusal must). SQLSTATE CO402:
-- insufficient funds; CO404: no such account.
CREATE FUNCTION certorder_charge(account BIGINT, delta BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET balance_cents = balance_cents + delta WHERE id = account AND balance_cents + delta >= 0;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM accounts WHERE id = account) THEN
            RAISE EXCEPTION 'certorder: the balance of account % cannot cover %', account, -delta USING ERRCODE = 'CO402';
        END IF;
        RAISE EXCEPTION 'certorder: no account %', account USING ERRCODE = 'CO404';
    END IF;
END $$;

-- An order's certificate recorded on the order, failing (CO404) when the
-- account has no such order instead of updating no row: so that the
-- certificate's statement, whose id is taken ahead, can be held back too.
CREATE FUNCTION certorder_set_order_certificate(order_id BIGINT, account BIGINT, certificate BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET certificate_id = certificate WHERE id = order_id AND account_id = account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certorder: account % has no order %', account, order_id USING ERRCODE = 'CO404';
    END IF;
END $$;
