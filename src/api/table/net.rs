//! The API table's rows for one subsystem.
//! The network: swarm, DHT, publish, provide, find providers, sync.

use crate::api::fns_net;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "SwarmLocal",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "This node's libp2p listen addresses, each ending in /p2p/<PeerId>.",
        run: fns_net::local,
    },
    ApiFn {
        name: "SwarmAddrs",
        params: "sid, [peer]",
        access: Access::Session(Rights::Guest),
        doc: "Known addresses of peers (of one peer, by PeerId or Leither ID, looked up in the DHT if unknown): {peer: [multiaddr]}.",
        run: fns_net::addrs,
    },
    ApiFn {
        name: "SwarmPeers",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "Connected peers: [{peer, addr, agent}].",
        run: fns_net::peers,
    },
    ApiFn {
        name: "SwarmConnect",
        params: "sid, multiaddr",
        access: Access::Session(Rights::Owner),
        doc: "Connects to a peer (/ip4/A/tcp/P[/p2p/ID] or host:port); returns its PeerId.",
        run: fns_net::connect,
    },
    ApiFn {
        name: "SwarmDisconnect",
        params: "sid, peer",
        access: Access::Session(Rights::Owner),
        doc: "Closes every connection to a peer; returns whether there was one.",
        run: fns_net::disconnect,
    },
    ApiFn {
        name: "SwarmFilters",
        params: "sid, [op, cidr]",
        access: Access::Session(Rights::Owner),
        doc: "Address filters (connections to and from these ranges are refused): op \"add\" or \"rm\" with /ip4/10.0.0.0/ipcidr/8 or 10.0.0.0/8; returns the list.",
        run: fns_net::filters,
    },
    ApiFn {
        name: "DhtFindPeer",
        params: "sid, id",
        access: Access::Session(Rights::Guest),
        doc: "The addresses of a peer (PeerId or 27-character Leither ID), from connections, the address book or the DHT.",
        run: fns_net::find_peer,
    },
    ApiFn {
        name: "DhtProvide",
        params: "sid, cid",
        access: Access::Session(Rights::Owner),
        doc: "Announces in the DHT that this node provides a block it has (IPFS peers find it with findprovs).",
        run: fns_net::provide_cid,
    },
    ApiFn {
        name: "MiMeiPublish",
        params: "sid, mid, [eolHours]",
        access: Access::Session(Rights::User),
        doc: "Signs a head for the Mimei's latest version (the node key needs write right; so does the session), puts it in the DHT with an EOL (default 168 h; re-published before it), provides the Mimei and tells its providers at once. Returns {mid, version, seq, eol, dhtPeers, pushed}.",
        run: fns_net::mm_publish,
    },
    ApiFn {
        name: "MiMeiUnpublish",
        params: "sid, mid",
        access: Access::Session(Rights::User),
        doc: "Stops publishing and providing the Mimei here (copies in the DHT expire at their EOL). Returns true.",
        run: fns_net::mm_unpublish,
    },
    ApiFn {
        name: "MiMeiProvide",
        params: "sid, mid",
        access: Access::Session(Rights::User),
        doc: "Announces this node as a provider of a Mimei it has. Returns true.",
        run: fns_net::mm_provide,
    },
    ApiFn {
        name: "MiMeiUnprovide",
        params: "sid, mid",
        access: Access::Session(Rights::User),
        doc: "Stops providing (and following) the Mimei. Returns true.",
        run: fns_net::mm_unprovide,
    },
    ApiFn {
        name: "MiMeiFindProvs",
        params: "sid, mid",
        access: Access::Session(Rights::Guest),
        doc: "The newest verified head's version (0 if none) and the providers: {mid, version, providers: [{peer, addrs}]}.",
        run: fns_net::mm_find_provs,
    },
    ApiFn {
        name: "MiMeiSync",
        params: "sid, mid, [node], [mode]",
        access: Access::Session(Rights::User),
        doc: "Fetches the newest verified head, then only the missing blocks, from the providers (or from node alone: a multiaddr or PeerId), stores the version and follows the Mimei. mode \"wait\" (default) answers when done, \"start\" runs it in the background, \"status\" gives the progress: {state, error, version, blocksKnown, blocksDone, fetched, bytes, providers, secs}.",
        run: fns_net::mm_sync,
    },
    ApiFn {
        name: "MiMeiShow",
        params: "sid, mid",
        access: Access::Session(Rights::Guest),
        doc: "mminfo (when the Mimei is here) plus net (the newest verified head: {ver, cid, seq, eol, signer, follow, publish} or null), conflict (text, empty if none) and compare (local last against the net's).",
        run: fns_net::mm_show,
    },
];
