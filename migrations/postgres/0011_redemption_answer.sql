-- A retried redemption answers exactly what the first request was answered (issue 22): the
-- site's payable balance right after the redemption is kept with it. Redemptions recorded before
-- this migration have none; a retry of one of them answers the balance as it is now.
ALTER TABLE redemptions ADD COLUMN site_payable_after BIGINT;
