-- The console finds a customer's conversations by one of their addresses
-- (a phone number, an email) without knowing its channel: the primary key
-- (channel, address) cannot answer that.
CREATE INDEX contact_addresses_address ON contact_addresses (address);
