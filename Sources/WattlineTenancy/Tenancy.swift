/// Tenants, sites, memberships, meters and channels (`wattline.tenancy.v1`), served as the
/// `wattline_app` role in the call's tenant scope.
public enum Tenancy {}
