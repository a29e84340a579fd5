/// Loggers and their credentials, integration credentials, and the directory the access
/// interceptor asks who a certificate or secret belongs to.
public enum Credentials {}
