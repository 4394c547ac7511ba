// Run by the MongoDB image once, when its data volume is initialised: the application's own user, with rights on
// the Shelfcast database only (readWrite; dbAdmin for the indexes and the clicks' TTL the services manage).
const database = process.env.SHELFCAST_MONGO_DB || "shelfcast";
db.getSiblingDB("admin").createUser({
  user: process.env.SHELFCAST_MONGO_APP_USER,
  pwd: process.env.SHELFCAST_MONGO_APP_PASSWORD,
  roles: [
    { role: "readWrite", db: database },
    { role: "dbAdmin", db: database },
  ],
});
