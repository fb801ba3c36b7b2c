// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AgentRoles} from "./AgentRoles.sol";

/// @title IdentityRegistry
/// @notice ERC-3643 identity registry shared by every MedRWA security token. Agents map
///         investor wallets to an identity (an ONCHAINID-compatible contract or a
///         deterministic per-investor address, so several wallets can share one investor)
///         and an ISO 3166-1 numeric country. KYC validity is kept per identity as an
///         expiry timestamp: `isVerified(wallet)` is true when the wallet is registered and
///         its identity's KYC has not expired (expiry 0 = no expiry set, never expires).
/// @dev Unlike T-REX, verification does not evaluate claims on chain: the platform checks
///      KYC off chain and records the outcome (identity + expiry) here, which keeps a
///      compliant transfer far cheaper. ERC-3643 signatures are kept where the standard
///      defines them (`IIdentity` parameters appear as `address` in the ABI).
contract IdentityRegistry is AgentRoles {
    /// @dev One slot per wallet: identity (160 bits) | country (16 bits).
    struct WalletRecord {
        address identity;
        uint16 country;
    }

    mapping(address wallet => WalletRecord) private _wallets;
    mapping(address identity => uint64) private _kycExpiry;

    /// @notice ERC-3643: a wallet was registered.
    event IdentityRegistered(address indexed investorAddress, address indexed identity);
    /// @notice ERC-3643: a wallet was removed.
    event IdentityRemoved(address indexed investorAddress, address indexed identity);
    /// @notice ERC-3643: a wallet's identity was replaced.
    event IdentityUpdated(address indexed oldIdentity, address indexed newIdentity);
    /// @notice ERC-3643: a wallet's country was set or changed.
    event CountryUpdated(address indexed investorAddress, uint16 indexed country);
    /// @notice The KYC expiry of `identity` was set (0 = no expiry).
    event KycExpiryUpdated(address indexed identity, uint64 expiresAt);

    /// @notice The wallet is already registered.
    error AlreadyRegistered(address wallet);
    /// @notice The wallet is not registered.
    error NotRegistered(address wallet);
    /// @notice Array arguments differ in length.
    error LengthMismatch();

    /// @param initialOwner owner of the registry (manages agents)
    constructor(address initialOwner) {
        _initOwner(initialOwner);
    }

    // ------------------------------------------------------------------ writes

    /// @notice ERC-3643: registers `_userAddress` with `_identity` and `_country`.
    function registerIdentity(address _userAddress, address _identity, uint16 _country) external onlyAgent {
        _register(_userAddress, _identity, _country);
    }

    /// @notice Registers a wallet and sets its identity's KYC expiry in one call
    ///         (added function; one investor onboarding = one transaction).
    function registerIdentityWithExpiry(address _userAddress, address _identity, uint16 _country, uint64 _expiresAt)
        external
        onlyAgent
    {
        _register(_userAddress, _identity, _country);
        _kycExpiry[_identity] = _expiresAt;
        emit KycExpiryUpdated(_identity, _expiresAt);
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
            _register(_userAddresses[i], _identities[i], _countries[i]);
        }
    }

    /// @notice ERC-3643: replaces the identity of a registered wallet.
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

    /// @notice ERC-3643: removes a wallet from the registry.
    function deleteIdentity(address _userAddress) external onlyAgent {
        address id = _wallets[_userAddress].identity;
        if (id == address(0)) revert NotRegistered(_userAddress);
        delete _wallets[_userAddress];
        emit IdentityRemoved(_userAddress, id);
    }

    /// @notice Sets the KYC expiry (unix seconds) of `identity`; 0 = no expiry.
    ///         Affects every wallet mapped to that identity.
    function setKycExpiry(address identity_, uint64 expiresAt) external onlyAgent {
        if (identity_ == address(0)) revert ZeroAddress();
        _kycExpiry[identity_] = expiresAt;
        emit KycExpiryUpdated(identity_, expiresAt);
    }

    // ------------------------------------------------------------------ views

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

    /// @notice KYC expiry of `identity_` (0 = no expiry set).
    function kycExpiry(address identity_) external view returns (uint64) {
        return _kycExpiry[identity_];
    }

    /// @notice ERC-3643: registered and KYC not expired.
    function isVerified(address _userAddress) public view returns (bool verified) {
        (verified,) = verifiedCountry(_userAddress);
    }

    /// @notice Verification status and country in one call (used by SecurityToken on
    ///         every transfer to save an external call).
    function verifiedCountry(address _userAddress) public view returns (bool verified, uint16 country) {
        WalletRecord memory r = _wallets[_userAddress];
        if (r.identity == address(0)) return (false, r.country);
        uint64 exp = _kycExpiry[r.identity];
        verified = exp == 0 || block.timestamp < exp;
        country = r.country;
    }

    // ------------------------------------------------------------------ internal

    function _register(address wallet, address identity_, uint16 country) private {
        if (wallet == address(0) || identity_ == address(0)) revert ZeroAddress();
        WalletRecord storage r = _wallets[wallet];
        if (r.identity != address(0)) revert AlreadyRegistered(wallet);
        r.identity = identity_;
        r.country = country;
        emit IdentityRegistered(wallet, identity_);
        emit CountryUpdated(wallet, country);
    }
}
