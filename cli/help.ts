/** The `--help` texts. Flags are spelled and explained as in mosquitto_pub/mosquitto_sub. */

const COMMON = ` -c : disable clean session (the broker keeps the session; needs -i or -I).
 -d : enable debug messages: every packet sent and received.
 -h : mqtt host to connect to. Defaults to localhost.
 -i : id to use for this client. Defaults to mcu-mqtt- and 8 random hex digits.
 -I : define the client id as id_prefix appended with the process id.
 -k : keep alive in seconds for this client (5 to 65535). Defaults to 60.
 -L : specify user, password, hostname, port and topic as a URL in the form:
      mqtt(s)://[username[:password]@]host[:port]/topic
 -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.
 -P : provide a password (needs -u).
 -u : provide a username
 -V : specify the version of the MQTT protocol to use when connecting.
      Can be mqttv311 (or 311) or mqttv31 (or 31). Defaults to mqttv311.
 --help : display this message.
 --quiet : don't print error messages.
 --will-payload : payload for the client Will, which is sent by the broker in case of
                  unexpected disconnection. If not given and will-topic is set, a zero
                  length message will be sent.
 --will-qos : QoS level for the client Will.
 --will-retain : if given, make the client Will retained.
 --will-topic : the topic on which to publish the client Will.
 --cafile : path to a file containing trusted CA certificates to enable encrypted
            communication (TLS).
 --cert : client certificate for authentication, if required by server (needs --key).
 --key : client private key for authentication, if required by server (needs --cert).
 --insecure : do not check that the server certificate hostname matches the remote
              hostname.`;

const PUB_ONLY = ` -f : send the contents of a file as the message (any bytes).
 -l : read messages from stdin, sending a separate message for each line.
      Empty lines are skipped.
 -m : message payload to send.
 -n : send a null (zero length) message.
 -q : quality of service level to use for all messages. Defaults to 0.
 -r : message should be retained.
 -s : read message from stdin, sending the entire input as a message.
 -t : mqtt topic to publish to.`;

const SUB_ONLY = ` -C : disconnect and exit after receiving the 'msg_count' messages.
 -E : exit once all subscriptions have been acknowledged by the broker.
 -N : do not add an end of line character when printing the payload.
 -q : quality of service level to use for the subscription. Defaults to 0.
 -R : do not print stale messages (those with retain set).
 -t : mqtt topic to subscribe to. May be repeated multiple times.
 -T : topic string to filter out of results. May be repeated.
 -v : print published messages verbosely (topic, a space, the payload).
 -W : exit after this many seconds (1 to 3600), with code 27 and "Timed out".`;

export const PUB_HELP = `mcu-mqtt pub publishes a message on a single topic and exits.
It runs the mcu-mqtt client core on Node and takes mosquitto_pub's flags.

Usage: mcu-mqtt pub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL}
                    {-f file | -l | -n | -m message | -s}
                    [-c] [-k keepalive] [-q qos] [-r]
                    [-i id] [-I id_prefix]
                    [-d] [--quiet]
                    [-V protocol_version]
                    [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                    [--cafile file [--cert file --key file] [--insecure]]
       mcu-mqtt pub --help

${COMMON}
${PUB_ONLY}
`;

export const SUB_HELP = `mcu-mqtt sub subscribes to a set of topics and prints all messages it receives.
It runs the mcu-mqtt client core on Node and takes mosquitto_sub's flags.

Usage: mcu-mqtt sub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL [-t topic]}
                    [-c] [-k keepalive] [-q qos]
                    [-C msg_count] [-E] [-R] [-T filter_out]
                    [-W timeout_secs]
                    [-i id] [-I id_prefix]
                    [-d] [-N] [--quiet] [-v]
                    [-V protocol_version]
                    [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                    [--cafile file [--cert file --key file] [--insecure]]
       mcu-mqtt sub --help

${COMMON}
${SUB_ONLY}
`;

export const MAIN_HELP = `mcu-mqtt: the mcu-mqtt MQTT 3.1/3.1.1 client on the command line.

Usage: mcu-mqtt pub [options]     publish, like mosquitto_pub
       mcu-mqtt sub [options]     subscribe and print, like mosquitto_sub
       mcu-mqtt --help            this text; 'mcu-mqtt pub --help' and 'mcu-mqtt sub --help'
                                  list every flag of each command.

Options of both commands:
${COMMON}

pub only (one of -f, -l, -m, -n, -s):
${PUB_ONLY}

sub only:
${SUB_ONLY}

Exit codes: 0 done; 1 usage or connection error; 5 connection refused (pub);
the CONNACK return code 1-5 (sub); 7 connection lost; 27 timed out (-W).
`;
