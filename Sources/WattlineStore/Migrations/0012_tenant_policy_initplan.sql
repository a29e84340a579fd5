-- Row-level security as `tenant_id = (SELECT wattline.current_tenant())` instead of
-- `tenant_id = wattline.current_tenant()`. Same rows, same index conditions; what changes is the
-- planner's estimate. With the bare function it evaluates the setting while planning and looks
-- the tenant up in the column's statistics: a tenant that grew since the last ANALYZE is costed at
-- a row or two, and its plans then scan the whole tenant per outer row (creating a channel in a
-- freshly set-up 100-logger tenant: 200 ms instead of 0.05 ms; a logger's stream start: 110 ms).
-- As a subquery (an InitPlan, evaluated once per statement) the value is unknown at planning, so
-- every tenant is costed as an average one and the plans go by the full keys of the indexes,
-- which is right for small and large tenants alike.
DO $$
DECLARE
    target record;
BEGIN
    FOR target IN SELECT tablename FROM pg_policies WHERE schemaname = 'wattline' AND policyname = 'tenant_isolation' LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON wattline.%I USING (tenant_id = (SELECT wattline.current_tenant())) '
                       'WITH CHECK (tenant_id = (SELECT wattline.current_tenant()))', target.tablename);
    END LOOP;
END $$;
