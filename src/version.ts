/** The version of piw; also the database schema version that `piw initdb` installs. */
export const PIW_VERSION = "0.2.0";
