# Sourced by the load scripts (ingest-crash, ingest-bench). Needs $bin (the executables), $port
# and $work (a scratch directory); sets WATTLINE_CLI_SESSION to a file in $work.
#   start_server [ARGS...]  starts wattline-server --dev on $port (its pid in $pid) and waits for it
#   make_tenant NAME        makes a tenant with one site through the CLI, signs in as its owner:
#                           sets $tenant, $site, $owner and $owner_password
export WATTLINE_CLI_SESSION=$work/session

start_server() {
    "$bin/wattline-server" --dev --port "$port" --log-level warning "$@" 2>>"$work/server.log" &
    pid=$!
    for _ in $(seq 1 600); do
        "$bin/wattline" health --port "$port" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "$0: the server exited"; exit 1; }
        sleep 0.2
    done
    cat "$work/server.log"; echo "$0: the server is not serving"; exit 1
}

make_tenant() {
    local name=$1 operator="operator-$$-$RANDOM@example.test" token
    local operator_password="$name operator passphrase"
    owner="owner-$$-$RANDOM@example.test"
    owner_password="$name owner passphrase 7"
    cli() { "$bin/wattline" "$@" --port "$port"; }
    WATTLINE_PASSWORD="$operator_password" cli ims create-operator --email "$operator" >/dev/null
    WATTLINE_PASSWORD="$operator_password" cli login --email "$operator" >/dev/null
    tenant=$(cli tenant create --name "$name $$ $RANDOM" --country CH | awk '{print $3}')
    token=$(cli invite --tenant "$tenant" --email "$owner" --role owner | awk '/invitation token:/ {print $3}')
    WATTLINE_PASSWORD="$owner_password" cli register --token "$token" --name "$name Owner" >/dev/null
    WATTLINE_PASSWORD="$owner_password" cli login --email "$owner" >/dev/null
    site=$(cli site create --tenant "$tenant" --name "$name site" --address "A 1;8000 Z" --country CH --time-zone Europe/Zurich | awk '{print $3}')
}
