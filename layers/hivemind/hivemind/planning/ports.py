"""The name of a variable that can hold the app's own port, in every language's port patterns.

Apps read many `*_PORT` variables: most of them say where a client connects (a database, a
mail server, a cache), not where the app listens. `MAIL_PORT=25` read before anything else is
not the app's port; `PORT`, `APP_PORT`, `SERVER_PORT`, `FLASK_RUN_PORT` may be."""

from __future__ import annotations

# what a client connects to: never the app's own listening port
CLIENT_SERVICES = (
    "MAIL|SMTP|EMAIL|IMAP|POP3?|DB|DATABASE|POSTGRES(?:QL)?|PG|MYSQL|MARIADB|MSSQL|SQL|ORACLE|REDIS|VALKEY"
    "|MONGO(?:DB)?|RABBIT(?:MQ)?|AMQP|MQTT|MEMCACHED?|ELASTIC(?:SEARCH)?|ES|OPENSEARCH|KAFKA|NATS|ZOOKEEPER"
    "|CASSANDRA|NEO4J|INFLUX(?:DB)?|CLICKHOUSE|MINIO|S3|LDAP|S?FTP|SSH|STATSD|SENTRY|OTEL|JAEGER|ZIPKIN"
    "|DEBUG(?:GER)?|INSPECT|LIVERELOAD|HMR|SELENIUM|CHROME"
)
# a variable name with PORT in it that is not a client's (MAIL_PORT, PGPORT, REDIS_SERVER_PORT are)
PORT_VAR = rf"(?!(?:{CLIENT_SERVICES})(?:_[A-Z0-9_]*)?PORT)[A-Z0-9_]*PORT[A-Z0-9_]*"
