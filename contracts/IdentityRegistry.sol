// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AgentRoles} from "./AgentRoles.sol";

/// @title IdentityRegistry
/// @notice ERC-3643 identity registry shared by every MedRWA security token. Agents map
///         investor wallets to an identity (an ONCHAINID-compatible contract or a
///         deterministic per-investor address, so several wallets can share one investor)
///         and an ISO 3166-1 numeric country. KYC validity is kept per wallet as an expiry
///         timestamp packed into the wallet's record: `isVerified(wallet)` is true when the
///         wallet is registered and its KYC has not expired (expiry 0 = never expires).
/// @dev Unlike T-REX, verification does not evaluate claims on chain: the platform checks
///      KYC off chain and records the outcome (identity + expiry) here, which keeps a
///      compliant transfer far cheaper. ERC-3643 signatures are kept where the standard
///      defines them (`IIdentity` parameters appear as `address` in the ABI).
///      Storage note (why the KYC expiry is per wallet, not per identity): the wallet
///      record packs identity (20 bytes) + country (2) + expiry (8) = 30 bytes into ONE
///      slot. Registering an investor is then one fresh SSTORE (instead of two: record +
///      identity expiry), and `isVerified` / `verifiedCountry` is a single SLOAD, paid on
///      every transfer, mint and forced transfer (the token verifies the receiver), so
///      those get cheaper as well (one cold SLOAD less).
///      The cost: renewing an investor's KYC writes each of that investor's wallets (a
///      handful) - use `batchSetKycExpiry` with all of the identity's wallets.
contract IdentityRegistry is AgentRoles {
    /// @dev One slot per wallet: identity (160 bits) | country (16 bits) | KYC expiry
    ///      (64 bits, unix seconds, 0 = never expires). 240 of 256 bits used.
    struct WalletRecord {
        address identity;
        uint16 country;
        uint64 kycExpiry;
    }

    mapping(address wallet => WalletRecord) private _wallets;

    /// @notice ERC-3643: a wallet was registered.
    event IdentityRegistered(address indexed investorAddress, address indexed identity);
    /// @notice ERC-3643: a wallet was removed.
    event IdentityRemoved(address indexed investorAddress, address indexed identity);
    /// @notice ERC-3643: a wallet's identity was replaced.
    event IdentityUpdated(address indexed oldIdentity, address indexed newIdentity);
    /// @notice ERC-3643: a wallet's country was set or changed.
    event CountryUpdated(address indexed investorAddress, uint16 indexed country);
    /// @notice ERC-3643: the identity storage was set. Storage is built in, so this is
    ///         emitted with the registry itself (by the constructor and by
    ///         `setIdentityRegistryStorage(address(this))`).
    event IdentityStorageSet(address indexed _identityStorage);
    /// @notice The KYC expiry of `wallet` was set (unix seconds, 0 = never expires).
    ///         Emitted on `registerIdentityWithExpiry`, `setKycExpiry`, `batchSetKycExpiry`.
    event KycExpirySet(address indexed wallet, uint64 expiresAt);

    /// @notice The wallet is already registered.
    error AlreadyRegistered(address wallet);
    /// @notice The wallet is not registered.
    error NotRegistered(address wallet);
    /// @notice Array arguments differ in length.
    error LengthMismatch();
    /// @notice `setIdentityRegistryStorage` with a contract other than this registry:
    ///         identity storage is built in.
    error ExternalStorageUnsupported(address identityStorage);

    /// @param initialOwner owner of the registry (manages agents)
    constructor(address initialOwner) {
        _initOwner(initialOwner);
        emit IdentityStorageSet(address(this));
    }

    // ------------------------------------------------------------------ writes

    /// @notice ERC-3643: registers `_userAddress` with `_identity` and `_country`; KYC
    ///         expiry 0 (never expires).
    function registerIdentity(address _userAddress, address _identity, uint16 _country) external onlyAgent {
        _register(_userAddress, _identity, _country, 0);
    }

    /// @notice Registers a wallet with its KYC expiry (unix seconds, 0 = never expires) in
    ///         one call and one storage write (added function; one onboarding = one tx).
    ///         A further wallet of an existing investor should get the same expiry.
    function registerIdentityWithExpiry(address _userAddress, address _identity, uint16 _country, uint64 _expiresAt)
        external
        onlyAgent
    {
        _register(_userAddress, _identity, _country, _expiresAt);
        emit KycExpirySet(_userAddress, _expiresAt);
    }

    /// @notice ERC-3643: registers several wallets.
    function batchRegisterIdentity(
        address[] calldata _userAddresses,
        address[] calldata _identities,
        uint16[] calldata _countries
    ) external onlyAgent {
        uint256 n = _userAddresses.length;
        if (_identities.length != n || _countries.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            _register(_userAddresses[i], _identities[i], _countries[i], 0);
        }
    }

    /// @notice ERC-3643: replaces the identity of a registered wallet (country and KYC
    ///         expiry are kept; set the expiry with `setKycExpiry` if it should change).
    function updateIdentity(address _userAddress, address _identity) external onlyAgent {
        if (_identity == address(0)) revert ZeroAddress();
        WalletRecord storage r = _wallets[_userAddress];
        address old = r.identity;
        if (old == address(0)) revert NotRegistered(_userAddress);
        r.identity = _identity;
        emit IdentityUpdated(old, _identity);
    }

    /// @notice ERC-3643: changes the country of a registered wallet.
    function updateCountry(address _userAddress, uint16 _country) external onlyAgent {
        WalletRecord storage r = _wallets[_userAddress];
        if (r.identity == address(0)) revert NotRegistered(_userAddress);
        r.country = _country;
        emit CountryUpdated(_userAddress, _country);
    }

    /// @notice ERC-3643: removes a wallet from the registry (its KYC expiry with it).
    function deleteIdentity(address _userAddress) external onlyAgent {
        address id = _wallets[_userAddress].identity;
        if (id == address(0)) revert NotRegistered(_userAddress);
        delete _wallets[_userAddress];
        emit IdentityRemoved(_userAddress, id);
    }

    /// @notice Sets the KYC expiry (unix seconds, 0 = never expires) of a registered
    ///         `wallet`. The expiry is per wallet: to renew an investor, set every wallet
    ///         of the identity (see `batchSetKycExpiry`).
    function setKycExpiry(address wallet, uint64 expiresAt) external onlyAgent {
        _setKycExpiry(wallet, expiresAt);
    }

    /// @notice Sets the same KYC expiry on several registered wallets (an investor's
    ///         wallets on KYC renewal). Reverts as a whole if one is not registered.
    function batchSetKycExpiry(address[] calldata wallets, uint64 expiresAt) external onlyAgent {
        uint256 n = wallets.length;
        for (uint256 i; i < n; ++i) {
            _setKycExpiry(wallets[i], expiresAt);
        }
    }

    /// @notice ERC-3643: sets the identity storage (owner). Storage is built into this
    ///         registry, so the only accepted value is the registry itself (a no-op that
    ///         emits `IdentityStorageSet` again); any other address reverts
    ///         `ExternalStorageUnsupported`.
    function setIdentityRegistryStorage(address _identityRegistryStorage) external onlyOwner {
        if (_identityRegistryStorage != address(this)) revert ExternalStorageUnsupported(_identityRegistryStorage);
        emit IdentityStorageSet(_identityRegistryStorage);
    }

    // ------------------------------------------------------------------ views

    /// @notice ERC-3643: the identity storage - this registry (storage is built in: the
    ///         wallet records live here, not in a separate `IdentityRegistryStorage`).
    function identityStorage() external view returns (address) {
        return address(this);
    }

    /// @notice ERC-3643: the trusted issuers registry - always zero (none): claims are not
    ///         verified on chain; the platform checks KYC off chain and records the outcome
    ///         as identity + KYC expiry.
    function issuersRegistry() external pure returns (address) {
        return address(0);
    }

    /// @notice ERC-3643: the claim topics registry - always zero (none), for the same
    ///         reason as `issuersRegistry`.
    function topicsRegistry() external pure returns (address) {
        return address(0);
    }

    /// @notice ERC-3643: whether `_userAddress` is registered.
    function contains(address _userAddress) external view returns (bool) {
        return _wallets[_userAddress].identity != address(0);
    }

    /// @notice ERC-3643: the identity of `_userAddress` (zero if unregistered).
    function identity(address _userAddress) external view returns (address) {
        return _wallets[_userAddress].identity;
    }

    /// @notice ERC-3643: the ISO 3166-1 numeric country of `_userAddress`.
    function investorCountry(address _userAddress) external view returns (uint16) {
        return _wallets[_userAddress].country;
    }

    /// @notice KYC expiry of `wallet` (unix seconds; 0 = never expires or unregistered).
    function kycExpiry(address wallet) external view returns (uint64) {
        return _wallets[wallet].kycExpiry;
    }

    /// @notice ERC-3643: registered and KYC not expired (one SLOAD).
    function isVerified(address _userAddress) public view returns (bool verified) {
        (verified,) = verifiedCountry(_userAddress);
    }

    /// @notice Verification status and country in one call and one SLOAD (used by
    ///         SecurityToken on every transfer to save an external call).
    function verifiedCountry(address _userAddress) public view returns (bool verified, uint16 country) {
        WalletRecord memory r = _wallets[_userAddress];
        country = r.country;
        verified = r.identity != address(0) && (r.kycExpiry == 0 || block.timestamp < r.kycExpiry);
    }

    // ------------------------------------------------------------------ internal

    function _register(address wallet, address identity_, uint16 country, uint64 expiresAt) private {
        if (wallet == address(0) || identity_ == address(0)) revert ZeroAddress();
        if (_wallets[wallet].identity != address(0)) revert AlreadyRegistered(wallet);
        _wallets[wallet] = WalletRecord({identity: identity_, country: country, kycExpiry: expiresAt});
        emit IdentityRegistered(wallet, identity_);
        emit CountryUpdated(wallet, country);
    }

    function _setKycExpiry(address wallet, uint64 expiresAt) private {
        WalletRecord storage r = _wallets[wallet];
        if (r.identity == address(0)) revert NotRegistered(wallet);
        r.kycExpiry = expiresAt;
        emit KycExpirySet(wallet, expiresAt);
    }
}
