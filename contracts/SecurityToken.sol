// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {AgentRoles} from "./AgentRoles.sol";
import {IdentityRegistry} from "./IdentityRegistry.sol";

/// @title SecurityToken
/// @notice ERC-3643-style permissioned security token for one medical device offering,
///         deployed as an EIP-1167 clone by `TokenFactory`. One unit = one fraction
///         (`decimals() == 0`). Compliance is built in: `compliance()` returns this
///         token, which exposes the compliance contract's `canTransfer(from, to, amount)`
///         plus ERC-1404 `detectTransferRestriction` / `messageForTransferRestriction`.
///         Rules: receiver verified in the identity registry, allowed receiver countries,
///         maximum balance per wallet, maximum number of holders, lock-up until a time
///         (transfers only), supply cap (mint only).
///         Economic terms are pinned at initialisation: `totalUnits()` (N, the offering's
///         whole revenue right; the supply can never exceed it) and `termsHash()` (sha256
///         of the offering's canonical terms), so a distribution report can be checked
///         against the chain.
///         Revenue distribution is built in (ERC-2222-style points-per-share): an agent
///         calls `distributeRevenue(pool, reportHash)` in O(1) gas, where `pool` is the
///         holders' pool of the WHOLE device (all N units). Each unit earns pool / N
///         (inc = floor(pool * 2^40 / N) magnified), whatever part of N is sold: a holder
///         of k units gets k/N of the pool. Only the outstanding units' part is pulled
///         from the caller (amount = ceil(inc * supply / 2^40) <= pool); the part of unsold
///         units is never pulled and stays with the depositor (the clinic).
///         Holders pull with `claimIncome` (or an agent with `claimIncomeFor` /
///         `claimIncomeForBatch`, always paying the holder's own wallet).
///         Bounds (see contracts/README.md): supply and every balance <= N <= 2^32 - 1
///         units; a pool <= 2^96 - 1 and lifetime pulled amounts <= 2^96 - 1 stablecoin base
///         units. Within them no accounting value can overflow: each deposit adds
///         inc <= amount * 2^40 (supply >= 1), so pointsPerShare <= pulled * 2^40 < 2^136
///         and every correction is within 2^136 * 2^32 = 2^168 < 2^183 (int184).
/// @dev Agent paths and their rule exceptions:
///      - `mint`: all receiver rules + supply cap; ignores pause, freezes and lock-up.
///      - `forcedTransfer`: receiver must be verified and the holder cap holds; ignores
///        pause, freezes (frozen tokens are unfrozen as needed), lock-up, country and
///        max balance. Unclaimed income moves with the tokens' owner: if both wallets map
///        to the same identity it moves to `_to`, otherwise it stays with `_from`.
///      - `recoveryAddress`: the new wallet must be registered to `_investorOnchainID`
///        (KYC expiry is NOT required - the documented exception: the same investor keeps
///        their holding); balance, frozen tokens, frozen flag and unclaimed income move.
///      - `burn`: unfreezes tokens as needed.
contract SecurityToken is AgentRoles, IERC20Metadata, IERC20Errors {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants

    /// @notice Scale of the points-per-share accumulator.
    uint256 public constant MAGNITUDE = 2 ** 40;
    /// @notice Largest total supply (and so any balance): balances are packed as uint32.
    uint256 public constant MAX_SUPPLY = type(uint32).max;
    /// @notice Largest pool of one deposit and largest lifetime total pulled (stablecoin
    ///         base units): 7.9e28, i.e. USD 79 billion at 18 decimals. It keeps
    ///         pool * MAGNITUDE < 2^136 and bounds pointsPerShare (< 2^136) and so every
    ///         correction; see the contract notes.
    uint256 public constant MAX_TOTAL_DISTRIBUTED = type(uint96).max;
    string private constant VERSION = "medrwa-1.0.0";

    /// @notice ERC-1404 restriction codes.
    uint8 public constant SUCCESS = 0;
    uint8 public constant PAUSED = 1;
    uint8 public constant SENDER_FROZEN = 2;
    uint8 public constant RECEIVER_FROZEN = 3;
    uint8 public constant INSUFFICIENT_UNFROZEN_BALANCE = 4;
    uint8 public constant RECEIVER_NOT_VERIFIED = 5;
    uint8 public constant COUNTRY_NOT_ALLOWED = 6;
    uint8 public constant MAX_BALANCE_EXCEEDED = 7;
    uint8 public constant MAX_HOLDERS_EXCEEDED = 8;
    uint8 public constant LOCKED_UP = 9;
    uint8 public constant SUPPLY_CAP_EXCEEDED = 10;

    // ---------------------------------------------------------------- storage

    /// @dev One slot per holder: balance | frozen tokens | wallet frozen | income correction
    ///      (magnified; withdrawable = (pointsPerShare * balance + correction) / MAGNITUDE).
    ///      Units are whole fractions (decimals() == 0), so uint32 balances leave 184 bits
    ///      for the correction: |correction| <= pointsPerShare * balance < 2^136 * 2^32.
    struct Holder {
        uint32 balance;
        uint32 frozen;
        bool addressFrozen;
        int184 correction;
    }

    /// @notice Parameters for `initialize` (see `TokenFactory.deployToken`).
    struct TokenParams {
        string name;
        string symbol;
        address owner;
        address agent;
        address identityRegistry;
        address stablecoin;
        uint64 supplyCap; // 0 = up to totalUnits
        uint64 maxBalance; // 0 = unlimited
        uint32 maxHolders; // 0 = unlimited
        uint64 lockupUntil; // unix seconds; 0 = none
        uint16[] allowedCountries; // empty = any country
        uint64 totalUnits; // N: units of the whole revenue right, 1..MAX_SUPPLY, immutable
        bytes32 termsHash; // sha256 of the offering's canonical terms, non-zero, immutable
    }

    mapping(address => Holder) private _holders;
    mapping(address => mapping(address => uint256)) private _allowances;

    // slot: registry | paused | countryRestricted | holderCount | maxHolders
    IdentityRegistry private _registry;
    bool private _paused;
    bool private _countryRestricted;
    uint32 private _holderCount;
    uint32 private _maxHolders;

    // slot: maxBalance | supplyCap | lockupUntil | totalSupply | totalUnits. Supply and N are
    // <= MAX_SUPPLY (uint32); N shares the slot that mint and distributeRevenue read anyway.
    uint64 private _maxBalance;
    uint64 private _supplyCap;
    uint64 private _lockupUntil;
    uint32 private _totalSupply;
    uint32 private _totalUnits;

    // slot: stablecoin | undistributed remainder (magnified; grows < supply per deposit)
    IERC20 private _stablecoin;
    uint96 private _dustMagnified;

    // slot: accumulator (magnified income per unit, < 2^136) | total deposited (base units).
    // Read by every transfer and claim, written by every deposit, so they share one slot.
    uint160 private _pointsPerShare;
    uint96 private _totalDistributed;

    uint256 private _totalDustSwept;
    bytes32 private _deviceId;
    bytes32 private _termsHash;
    address private _factory;
    address private _onchainID;
    string private _name;
    string private _symbol;
    mapping(uint256 => uint256) private _countryBits;

    // ---------------------------------------------------------------- events

    /// @notice ERC-3643: token information changed. Name and symbol are indexed as in the
    ///         standard, so logs carry their keccak256 hashes (read the values with `name()`
    ///         / `symbol()`).
    event UpdatedTokenInformation(
        string indexed _newName,
        string indexed _newSymbol,
        uint8 _newDecimals,
        string _newVersion,
        address indexed _newOnchainID
    );
    /// @notice ERC-3643: identity registry set.
    event IdentityRegistryAdded(address indexed _identityRegistry);
    /// @notice ERC-3643: compliance set (always this token: compliance is built in).
    event ComplianceAdded(address indexed _compliance);
    /// @notice ERC-3643 compliance (`IModularCompliance`): the compliance was bound to a
    ///         token. Emitted once by `initialize` with this token: the built-in compliance
    ///         is bound to its own token for life.
    event TokenBound(address _token);
    /// @notice ERC-3643: a lost wallet was recovered.
    event RecoverySuccess(address indexed _lostWallet, address indexed _newWallet, address indexed _investorOnchainID);
    /// @notice ERC-3643: wallet freeze flag changed.
    event AddressFrozen(address indexed _userAddress, bool indexed _isFrozen, address indexed _owner);
    /// @notice ERC-3643: part of a balance frozen.
    event TokensFrozen(address indexed _userAddress, uint256 _amount);
    /// @notice ERC-3643: part of a balance unfrozen.
    event TokensUnfrozen(address indexed _userAddress, uint256 _amount);
    /// @notice ERC-3643: token paused.
    event Paused(address _userAddress);
    /// @notice ERC-3643: token unpaused.
    event Unpaused(address _userAddress);
    /// @notice Compliance parameters changed.
    event ComplianceParamsUpdated(
        uint64 supplyCap, uint64 maxBalance, uint32 maxHolders, uint64 lockupUntil, bool countryRestricted
    );
    /// @notice A receiver country was allowed or disallowed.
    event CountryAllowed(uint16 indexed country, bool allowed);
    /// @notice A period's holders' pool was distributed. `pool` is the pool of the whole
    ///         device (all N units), `amount` what was pulled from `by` (the outstanding
    ///         units' part, rounded up), `unitsOutstanding` the supply at the deposit,
    ///         `pointsPerShare` the accumulator after the deposit, `dustMagnified` the
    ///         undistributed remainder after it; `reportHash` identifies the off-chain
    ///         revenue report (sha256 of the canonical report) the deposit pays out.
    event RevenueDistributed(
        address indexed by,
        uint256 pool,
        uint256 amount,
        uint256 unitsOutstanding,
        uint256 pointsPerShare,
        uint256 dustMagnified,
        bytes32 indexed reportHash
    );
    /// @notice Income paid to `holder` (`by` is the holder or an agent).
    event IncomeClaimed(address indexed holder, address indexed by, uint256 amount);
    /// @notice Unclaimed income moved between wallets of one investor (magnified units).
    event IncomeMoved(address indexed from, address indexed to, uint256 magnifiedAmount);
    /// @notice Rounding dust paid out.
    event DustSwept(address indexed to, uint256 amount);
    /// @notice Token initialised by the factory.
    event TokenInitialized(bytes32 indexed deviceId, address indexed stablecoin);

    // ---------------------------------------------------------------- errors

    /// @notice `initialize` was called on an initialised token or the implementation.
    error AlreadyInitialized();
    /// @notice A transfer/mint broke a rule; `code` is the ERC-1404 restriction code.
    error TransferRestricted(uint8 code);
    /// @notice Array arguments differ in length.
    error LengthMismatch();
    /// @notice Amount does not fit the packed storage (supply / balances <= MAX_SUPPLY).
    error InvalidAmount(uint256 amount);
    /// @notice Freeze/unfreeze amount exceeds what is available.
    error FreezeAmountExceeded(address wallet, uint256 available, uint256 requested);
    /// @notice Compliance parameter would be violated by the current state.
    error InvalidComplianceParams();
    /// @notice Nothing to distribute to (total supply is zero) or a zero pool.
    error NothingToDistribute();
    /// @notice The holder has no withdrawable income.
    error NothingToClaim(address holder);
    /// @notice No whole unit of dust to sweep.
    error NoDust();
    /// @notice Recovery not allowed: wallets do not belong to `_investorOnchainID`.
    error RecoveryIdentityMismatch(address wallet);
    /// @notice Recovery of a wallet without tokens or income.
    error NothingToRecover(address lostWallet);
    /// @notice Arithmetic bound of the income accounting exceeded (a pool or the lifetime
    ///         pulled total above MAX_TOTAL_DISTRIBUTED).
    error AccountingOverflow();
    /// @notice `distributeRevenue` needs the hash of the revenue report it pays out.
    error MissingReportHash();
    /// @notice `setCompliance` with a contract other than this token: compliance is built in.
    error ExternalComplianceUnsupported(address compliance);
    /// @notice `initialize` with totalUnits 0, above MAX_SUPPLY, or below the supply cap.
    error InvalidTotalUnits();
    /// @notice `initialize` needs the hash of the offering's terms.
    error MissingTermsHash();

    // ---------------------------------------------------------------- init

    /// @dev Locks the implementation contract: clones get fresh storage.
    constructor() {
        _initOwner(address(0xdead));
    }

    /// @notice Initialises a clone (called once by the factory in the deploying tx; the
    ///         caller is recorded as `factory()`). Pins `totalUnits` and `termsHash`.
    function initialize(TokenParams calldata p, bytes32 deviceId_) external {
        if (owner() != address(0)) revert AlreadyInitialized();
        if (p.identityRegistry == address(0) || p.stablecoin == address(0)) revert ZeroAddress();
        uint256 units = p.totalUnits;
        if (units == 0 || units > MAX_SUPPLY || p.supplyCap > units) revert InvalidTotalUnits();
        if (p.termsHash == bytes32(0)) revert MissingTermsHash();
        _initOwner(p.owner);
        _factory = msg.sender;
        _totalUnits = uint32(units);
        _termsHash = p.termsHash;
        if (p.agent != address(0)) _addAgent(p.agent);
        _name = p.name;
        _symbol = p.symbol;
        _registry = IdentityRegistry(p.identityRegistry);
        _stablecoin = IERC20(p.stablecoin);
        _deviceId = deviceId_;
        _supplyCap = p.supplyCap;
        _maxBalance = p.maxBalance;
        _maxHolders = p.maxHolders;
        _lockupUntil = p.lockupUntil;
        uint256 n = p.allowedCountries.length;
        _countryRestricted = n != 0;
        for (uint256 i; i < n; ++i) {
            _setCountry(p.allowedCountries[i], true);
        }
        emit UpdatedTokenInformation(p.name, p.symbol, 0, VERSION, address(0));
        emit IdentityRegistryAdded(p.identityRegistry);
        emit ComplianceAdded(address(this));
        emit TokenBound(address(this));
        emit ComplianceParamsUpdated(p.supplyCap, p.maxBalance, p.maxHolders, p.lockupUntil, n != 0);
        emit TokenInitialized(deviceId_, p.stablecoin);
    }

    // ---------------------------------------------------------------- ERC-20 views

    /// @inheritdoc IERC20Metadata
    function name() external view returns (string memory) {
        return _name;
    }

    /// @inheritdoc IERC20Metadata
    function symbol() external view returns (string memory) {
        return _symbol;
    }

    /// @notice Always 0: one unit is one fraction of the device.
    function decimals() external pure returns (uint8) {
        return 0;
    }

    /// @inheritdoc IERC20
    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @inheritdoc IERC20
    function balanceOf(address account) external view returns (uint256) {
        return _holders[account].balance;
    }

    /// @inheritdoc IERC20
    function allowance(address owner_, address spender) external view returns (uint256) {
        return _allowances[owner_][spender];
    }

    // ---------------------------------------------------------------- ERC-3643 views

    /// @notice ERC-3643: token version string.
    function version() external pure returns (string memory) {
        return VERSION;
    }

    /// @notice ERC-3643: the token's ONCHAINID (zero if none set).
    function onchainID() external view returns (address) {
        return _onchainID;
    }

    /// @notice ERC-3643: the identity registry used for receiver verification.
    function identityRegistry() external view returns (address) {
        return address(_registry);
    }

    /// @notice ERC-3643: the compliance contract - this token (compliance is built in).
    function compliance() external view returns (address) {
        return address(this);
    }

    /// @notice ERC-3643: whether the token is paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice ERC-3643: whether `_userAddress` is frozen.
    function isFrozen(address _userAddress) external view returns (bool) {
        return _holders[_userAddress].addressFrozen;
    }

    /// @notice ERC-3643: frozen part of the balance of `_userAddress`.
    function getFrozenTokens(address _userAddress) external view returns (uint256) {
        return _holders[_userAddress].frozen;
    }

    /// @notice The device this token represents.
    function deviceId() external view returns (bytes32) {
        return _deviceId;
    }

    /// @notice The stablecoin used for revenue distribution.
    function stablecoin() external view returns (address) {
        return address(_stablecoin);
    }

    /// @notice N: the units of the offering's whole revenue right (fixed at initialisation).
    ///         A holder of k units is owed k/N of every pool; the supply never exceeds N.
    function totalUnits() external view returns (uint256) {
        return _totalUnits;
    }

    /// @notice sha256 of the offering's canonical terms (fixed at initialisation).
    function termsHash() external view returns (bytes32) {
        return _termsHash;
    }

    /// @notice The factory that deployed and initialised this token (zero on the
    ///         implementation contract).
    function factory() external view returns (address) {
        return _factory;
    }

    /// @notice Number of wallets with a non-zero balance.
    function holderCount() external view returns (uint256) {
        return _holderCount;
    }

    /// @notice Current compliance parameters (0 = unlimited / none; supplyCap 0 = up to
    ///         `totalUnits`).
    function complianceParams()
        external
        view
        returns (uint64 supplyCap, uint64 maxBalance, uint32 maxHolders, uint64 lockupUntil, bool countryRestricted)
    {
        return (_supplyCap, _maxBalance, _maxHolders, _lockupUntil, _countryRestricted);
    }

    /// @notice Whether receivers from `country` are allowed (always true when unrestricted).
    function isCountryAllowed(uint16 country) public view returns (bool) {
        return !_countryRestricted || _countryListed(country);
    }

    // ---------------------------------------------------------------- compliance views

    /// @notice ERC-1404: restriction code for a transfer (`from == 0`: a mint); 0 = allowed.
    function detectTransferRestriction(address from, address to, uint256 amount) public view returns (uint8) {
        if (from == address(0)) return _mintRestriction(to, amount);
        return _transferRestriction(from, to, amount);
    }

    /// @notice ERC-1404: human-readable message for a restriction code.
    function messageForTransferRestriction(uint8 restrictionCode) external pure returns (string memory) {
        if (restrictionCode == SUCCESS) return "No restriction";
        if (restrictionCode == PAUSED) return "Token is paused";
        if (restrictionCode == SENDER_FROZEN) return "Sender wallet is frozen";
        if (restrictionCode == RECEIVER_FROZEN) return "Receiver wallet is frozen";
        if (restrictionCode == INSUFFICIENT_UNFROZEN_BALANCE) return "Insufficient unfrozen balance";
        if (restrictionCode == RECEIVER_NOT_VERIFIED) return "Receiver is not verified (unregistered or KYC expired)";
        if (restrictionCode == COUNTRY_NOT_ALLOWED) return "Receiver country is not allowed";
        if (restrictionCode == MAX_BALANCE_EXCEEDED) return "Receiver balance would exceed the maximum";
        if (restrictionCode == MAX_HOLDERS_EXCEEDED) return "Maximum number of holders reached";
        if (restrictionCode == LOCKED_UP) return "Tokens are locked up";
        if (restrictionCode == SUPPLY_CAP_EXCEEDED) return "Supply cap exceeded";
        return "Unknown restriction";
    }

    /// @notice ERC-3643 compliance (`IModularCompliance.canTransfer`): whether the transfer
    ///         is allowed. Unlike T-REX, where the compliance contract only runs its modules,
    ///         this is the full check (pause, freezes, unfrozen balance, verification and
    ///         every compliance rule), because compliance and token are one contract.
    function canTransfer(address _from, address _to, uint256 _amount) external view returns (bool) {
        return detectTransferRestriction(_from, _to, _amount) == SUCCESS;
    }

    /// @notice ERC-3643 compliance (`IModularCompliance.getTokenBound`): the token this
    ///         compliance is bound to - this token (compliance is built in).
    function getTokenBound() external view returns (address) {
        return address(this);
    }

    /// @notice ERC-3643 compliance (`IModularCompliance.getModules`): always empty - the
    ///         rules are built in (configured with `setComplianceParams` /
    ///         `setCountriesAllowed`), not plugged in as module contracts.
    function getModules() external pure returns (address[] memory) {
        return new address[](0);
    }

    /// @notice ERC-3643 compliance (`IModularCompliance.isModuleBound`): always false - no
    ///         module contracts (see `getModules`).
    function isModuleBound(address) external pure returns (bool) {
        return false;
    }

    // ---------------------------------------------------------------- ERC-20 writes

    /// @inheritdoc IERC20
    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        _allowances[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice ERC-20 transfer, subject to every compliance rule.
    function transfer(address to, uint256 value) external returns (bool) {
        _compliantTransfer(msg.sender, to, value);
        return true;
    }

    /// @notice ERC-20 transferFrom, subject to every compliance rule.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = _allowances[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert ERC20InsufficientAllowance(msg.sender, allowed, value);
            unchecked {
                _allowances[from][msg.sender] = allowed - value;
            }
        }
        _compliantTransfer(from, to, value);
        return true;
    }

    /// @notice ERC-3643: several compliant transfers from the caller.
    function batchTransfer(address[] calldata _toList, uint256[] calldata _amounts) external {
        uint256 n = _toList.length;
        if (_amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            _compliantTransfer(msg.sender, _toList[i], _amounts[i]);
        }
    }

    // ---------------------------------------------------------------- agent: supply

    /// @notice ERC-3643: mints `_amount` to `_to` (agent; receiver rules + supply cap; the
    ///         supply never exceeds `totalUnits`).
    function mint(address _to, uint256 _amount) public onlyAgent {
        uint8 code = _mintRestriction(_to, _amount);
        if (code != SUCCESS) revert TransferRestricted(code);
        _update(address(0), _to, _amount);
    }

    /// @notice ERC-3643: burns `_amount` from `_userAddress` (agent; unfreezes as needed).
    function burn(address _userAddress, uint256 _amount) public onlyAgent {
        _unfreezeForAgent(_userAddress, _amount);
        _update(_userAddress, address(0), _amount);
    }

    /// @notice ERC-3643: batch `mint`.
    function batchMint(address[] calldata _toList, uint256[] calldata _amounts) external {
        uint256 n = _toList.length;
        if (_amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            mint(_toList[i], _amounts[i]);
        }
    }

    /// @notice ERC-3643: batch `burn`.
    function batchBurn(address[] calldata _userAddresses, uint256[] calldata _amounts) external {
        uint256 n = _userAddresses.length;
        if (_amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            burn(_userAddresses[i], _amounts[i]);
        }
    }

    // ---------------------------------------------------------------- agent: enforcement

    /// @notice ERC-3643: agent transfer (see contract notes for which rules apply).
    function forcedTransfer(address _from, address _to, uint256 _amount) public onlyAgent returns (bool) {
        if (_to == address(0)) revert ERC20InvalidReceiver(address(0));
        (bool verified,) = _registry.verifiedCountry(_to);
        if (!verified) revert TransferRestricted(RECEIVER_NOT_VERIFIED);
        if (_from != _to && _wouldExceedHolders(_from, _to, _amount)) revert TransferRestricted(MAX_HOLDERS_EXCEEDED);
        _unfreezeForAgent(_from, _amount);
        _update(_from, _to, _amount);
        address idFrom = _registry.identity(_from);
        if (_from != _to && idFrom != address(0) && idFrom == _registry.identity(_to)) {
            _moveAllIncome(_from, _to);
        }
        return true;
    }

    /// @notice ERC-3643: batch `forcedTransfer`.
    function batchForcedTransfer(address[] calldata _fromList, address[] calldata _toList, uint256[] calldata _amounts)
        external
    {
        uint256 n = _fromList.length;
        if (_toList.length != n || _amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            forcedTransfer(_fromList[i], _toList[i], _amounts[i]);
        }
    }

    /// @notice ERC-3643: moves balance, frozen tokens, frozen flag and unclaimed income
    ///         from `_lostWallet` to `_newWallet` (agent). `_newWallet` must be registered
    ///         to `_investorOnchainID`; `_lostWallet` must be registered to it or deleted.
    function recoveryAddress(address _lostWallet, address _newWallet, address _investorOnchainID)
        external
        onlyAgent
        returns (bool)
    {
        if (_newWallet == address(0) || _investorOnchainID == address(0)) revert ZeroAddress();
        if (_registry.identity(_newWallet) != _investorOnchainID) revert RecoveryIdentityMismatch(_newWallet);
        address lostId = _registry.identity(_lostWallet);
        if (lostId != address(0) && lostId != _investorOnchainID) revert RecoveryIdentityMismatch(_lostWallet);
        if (_lostWallet == _newWallet) revert RecoveryIdentityMismatch(_newWallet);

        Holder memory lost = _holders[_lostWallet];
        if (lost.balance == 0 && lost.correction == 0) revert NothingToRecover(_lostWallet);
        Holder memory dst = _holders[_newWallet];
        uint256 mag = _accumulated(lost);

        if (lost.balance != 0 && dst.balance != 0) _holderCount -= 1;
        dst.balance += lost.balance;
        dst.frozen += lost.frozen;
        dst.correction = _toInt184(int256(dst.correction) + lost.correction);
        bool flagMoved = lost.addressFrozen && !dst.addressFrozen;
        if (lost.addressFrozen) dst.addressFrozen = true;
        _holders[_newWallet] = dst;
        delete _holders[_lostWallet];

        emit Transfer(_lostWallet, _newWallet, lost.balance);
        if (lost.frozen != 0) {
            emit TokensUnfrozen(_lostWallet, lost.frozen);
            emit TokensFrozen(_newWallet, lost.frozen);
        }
        if (flagMoved) emit AddressFrozen(_newWallet, true, msg.sender);
        if (mag != 0) emit IncomeMoved(_lostWallet, _newWallet, mag);
        emit RecoverySuccess(_lostWallet, _newWallet, _investorOnchainID);
        return true;
    }

    /// @notice ERC-3643: pauses holder transfers (agent).
    function pause() external onlyAgent {
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @notice ERC-3643: unpauses holder transfers (agent).
    function unpause() external onlyAgent {
        _paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice ERC-3643: freezes or unfreezes a wallet (agent).
    function setAddressFrozen(address _userAddress, bool _freeze) public onlyAgent {
        _holders[_userAddress].addressFrozen = _freeze;
        emit AddressFrozen(_userAddress, _freeze, msg.sender);
    }

    /// @notice ERC-3643: freezes `_amount` of the balance of `_userAddress` (agent).
    function freezePartialTokens(address _userAddress, uint256 _amount) public onlyAgent {
        Holder storage h = _holders[_userAddress];
        uint256 available = uint256(h.balance) - h.frozen;
        if (_amount > available) revert FreezeAmountExceeded(_userAddress, available, _amount);
        h.frozen += uint32(_amount);
        emit TokensFrozen(_userAddress, _amount);
    }

    /// @notice ERC-3643: unfreezes `_amount` of the frozen tokens of `_userAddress` (agent).
    function unfreezePartialTokens(address _userAddress, uint256 _amount) public onlyAgent {
        Holder storage h = _holders[_userAddress];
        if (_amount > h.frozen) revert FreezeAmountExceeded(_userAddress, h.frozen, _amount);
        h.frozen -= uint32(_amount);
        emit TokensUnfrozen(_userAddress, _amount);
    }

    /// @notice ERC-3643: batch `setAddressFrozen`.
    function batchSetAddressFrozen(address[] calldata _userAddresses, bool[] calldata _freeze) external {
        uint256 n = _userAddresses.length;
        if (_freeze.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            setAddressFrozen(_userAddresses[i], _freeze[i]);
        }
    }

    /// @notice ERC-3643: batch `freezePartialTokens`.
    function batchFreezePartialTokens(address[] calldata _userAddresses, uint256[] calldata _amounts) external {
        uint256 n = _userAddresses.length;
        if (_amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            freezePartialTokens(_userAddresses[i], _amounts[i]);
        }
    }

    /// @notice ERC-3643: batch `unfreezePartialTokens`.
    function batchUnfreezePartialTokens(address[] calldata _userAddresses, uint256[] calldata _amounts) external {
        uint256 n = _userAddresses.length;
        if (_amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            unfreezePartialTokens(_userAddresses[i], _amounts[i]);
        }
    }

    // ---------------------------------------------------------------- owner: configuration

    /// @notice ERC-3643: sets the token name (owner).
    function setName(string calldata _newName) external onlyOwner {
        _name = _newName;
        emit UpdatedTokenInformation(_newName, _symbol, 0, VERSION, _onchainID);
    }

    /// @notice ERC-3643: sets the token symbol (owner).
    function setSymbol(string calldata _newSymbol) external onlyOwner {
        _symbol = _newSymbol;
        emit UpdatedTokenInformation(_name, _newSymbol, 0, VERSION, _onchainID);
    }

    /// @notice ERC-3643: sets the token's ONCHAINID (owner).
    function setOnchainID(address _newOnchainID) external onlyOwner {
        _onchainID = _newOnchainID;
        emit UpdatedTokenInformation(_name, _symbol, 0, VERSION, _newOnchainID);
    }

    /// @notice ERC-3643: sets the compliance contract (owner). Compliance is built into the
    ///         token, so the only accepted value is this token itself (a no-op that emits
    ///         `ComplianceAdded` again); any other address reverts
    ///         `ExternalComplianceUnsupported`.
    function setCompliance(address _compliance) external onlyOwner {
        if (_compliance != address(this)) revert ExternalComplianceUnsupported(_compliance);
        emit ComplianceAdded(_compliance);
    }

    /// @notice ERC-3643: replaces the identity registry (owner). It must implement
    ///         `verifiedCountry(address)` like `IdentityRegistry`.
    function setIdentityRegistry(address _identityRegistry) external onlyOwner {
        if (_identityRegistry == address(0)) revert ZeroAddress();
        _registry = IdentityRegistry(_identityRegistry);
        emit IdentityRegistryAdded(_identityRegistry);
    }

    /// @notice Sets every compliance parameter (owner). Caps below the current supply or
    ///         holder count, and a supply cap above `totalUnits`, are rejected (0 = unlimited
    ///         / no lock-up; supply cap 0 = up to `totalUnits`).
    function setComplianceParams(
        uint64 supplyCap_,
        uint64 maxBalance_,
        uint32 maxHolders_,
        uint64 lockupUntil_,
        bool countryRestricted_
    ) external onlyOwner {
        if (supplyCap_ != 0 && supplyCap_ < _totalSupply) revert InvalidComplianceParams();
        if (supplyCap_ > _totalUnits) revert InvalidComplianceParams();
        if (maxHolders_ != 0 && maxHolders_ < _holderCount) revert InvalidComplianceParams();
        _supplyCap = supplyCap_;
        _maxBalance = maxBalance_;
        _maxHolders = maxHolders_;
        _lockupUntil = lockupUntil_;
        _countryRestricted = countryRestricted_;
        emit ComplianceParamsUpdated(supplyCap_, maxBalance_, maxHolders_, lockupUntil_, countryRestricted_);
    }

    /// @notice Allows or disallows receivers from `countries` (owner).
    function setCountriesAllowed(uint16[] calldata countries, bool allowed) external onlyOwner {
        for (uint256 i; i < countries.length; ++i) {
            _setCountry(countries[i], allowed);
        }
    }

    // ---------------------------------------------------------------- revenue distribution

    /// @notice Distributes a period's holders' pool (agent; needs a stablecoin allowance).
    ///         `pool` is the pool of the WHOLE device (all `totalUnits` = N units): every
    ///         unit earns pool / N, whatever part of N is sold, so a holder of k units is
    ///         owed k/N of the pool. Only the outstanding units' part is pulled from the
    ///         caller: `amount` = ceil(inc * supply / MAGNITUDE) with
    ///         inc = floor(pool * MAGNITUDE / N), never less than what is credited (so the
    ///         token always holds what it owes) and at most ceil(pool * supply / N) <= pool;
    ///         the rest (pool - amount, the unsold units' part) is never pulled. The excess
    ///         of the rounding-up (< 1 base unit) is tracked as dust (`sweepableDust`).
    ///         O(1) in the number of holders. `reportHash` (non-zero) links the deposit to
    ///         its off-chain revenue report. `previewDistribution(pool)` gives amount and
    ///         inc beforehand.
    function distributeRevenue(uint256 pool, bytes32 reportHash) external onlyAgent {
        uint256 supply = _totalSupply;
        (uint256 amount, uint256 inc) = _split(pool, supply, _totalUnits);
        if (amount == 0) revert NothingToDistribute();
        if (reportHash == bytes32(0)) revert MissingReportHash();
        uint256 distributed = _totalDistributed + amount;
        // Bounds: distributed <= MAX_TOTAL_DISTRIBUTED, and inc <= amount * MAGNITUDE
        // (amount * MAGNITUDE >= inc * supply, supply >= 1), so pps <= distributed *
        // MAGNITUDE < 2^136 fits uint160. Dust grows by amount * MAGNITUDE - inc * supply
        // < MAGNITUDE (2^40) per deposit, so uint96 dust needs > 2^56 deposits without a
        // sweep; the check below keeps it a revert, not a wrap.
        if (distributed > MAX_TOTAL_DISTRIBUTED) revert AccountingOverflow();
        uint256 pps = _pointsPerShare + inc;
        uint256 dust = _dustMagnified + (amount * MAGNITUDE - inc * supply);
        if (dust > type(uint96).max) revert AccountingOverflow();
        _pointsPerShare = uint160(pps);
        _totalDistributed = uint96(distributed);
        _dustMagnified = uint96(dust);
        _stablecoin.safeTransferFrom(msg.sender, address(this), amount);
        emit RevenueDistributed(msg.sender, pool, amount, supply, pps, dust, reportHash);
    }

    /// @notice What `distributeRevenue(pool, ...)` would do now: `amount` pulled from the
    ///         caller and `pointsPerUnit` (= inc = floor(pool * MAGNITUDE / totalUnits))
    ///         added to `pointsPerShare`. (0, 0) where it would revert
    ///         `NothingToDistribute` (no units outstanding or a zero pool); reverts
    ///         `AccountingOverflow` where it would (the pool or the lifetime pulled total
    ///         above MAX_TOTAL_DISTRIBUTED).
    function previewDistribution(uint256 pool) external view returns (uint256 amount, uint256 pointsPerUnit) {
        (amount, pointsPerUnit) = _split(pool, _totalSupply, _totalUnits);
        if (amount == 0) return (0, 0);
        if (_totalDistributed + amount > MAX_TOTAL_DISTRIBUTED) revert AccountingOverflow();
    }

    /// @notice Pays the caller's withdrawable income to the caller (not while frozen).
    function claimIncome() external returns (uint256) {
        if (_holders[msg.sender].addressFrozen) revert TransferRestricted(SENDER_FROZEN);
        uint256 payout = _settle(msg.sender, _pointsPerShare);
        if (payout == 0) revert NothingToClaim(msg.sender);
        _stablecoin.safeTransfer(msg.sender, payout);
        return payout;
    }

    /// @notice Pays `holder`'s withdrawable income to `holder`'s wallet (agent; for
    ///         custodial wallets).
    function claimIncomeFor(address holder) external onlyAgent returns (uint256) {
        uint256 payout = _settle(holder, _pointsPerShare);
        if (payout == 0) revert NothingToClaim(holder);
        _stablecoin.safeTransfer(holder, payout);
        return payout;
    }

    /// @notice Pays each holder's withdrawable income to that holder's own wallet (agent;
    ///         for custodial wallets; frozen wallets included, as with `claimIncomeFor`).
    ///         Holders with nothing to claim (and repeats) are skipped, not reverted.
    ///         Per paid holder: one correction write, one stablecoin transfer, one
    ///         `IncomeClaimed`.
    /// @return total stablecoin paid in all
    function claimIncomeForBatch(address[] calldata holders) external onlyAgent returns (uint256 total) {
        uint256 pps = _pointsPerShare;
        IERC20 coin = _stablecoin;
        uint256 n = holders.length;
        for (uint256 i; i < n; ++i) {
            address holder = holders[i];
            uint256 payout = _settle(holder, pps);
            if (payout != 0) {
                coin.safeTransfer(holder, payout);
                total += payout;
            }
        }
    }

    /// @notice Income `holder` can claim now (stablecoin base units).
    function withdrawableIncomeOf(address holder) public view returns (uint256) {
        return _accumulated(_holders[holder]) / MAGNITUDE;
    }

    /// @notice Whole units of rounding dust that `sweepDust` would pay.
    function sweepableDust() public view returns (uint256) {
        return _dustMagnified / MAGNITUDE;
    }

    /// @notice Undistributed remainder in magnified units (sub-unit fraction included).
    function dustMagnified() external view returns (uint256) {
        return _dustMagnified;
    }

    /// @notice Pays whole units of accumulated rounding dust to `to` (owner or agent).
    function sweepDust(address to) external onlyOwnerOrAgent returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        amount = _dustMagnified / MAGNITUDE;
        if (amount == 0) revert NoDust();
        _dustMagnified -= uint96(amount * MAGNITUDE);
        _totalDustSwept += amount;
        _stablecoin.safeTransfer(to, amount);
        emit DustSwept(to, amount);
    }

    /// @notice Distribution totals: stablecoin deposited, dust swept, and held by the token
    ///         (= unclaimed income + dust not yet swept; claimed = distributed - swept - held,
    ///         as long as nobody sends stablecoin to the token directly). Per-claim amounts
    ///         are in `IncomeClaimed` (no running total is stored, to keep claims cheap).
    function incomeTotals() external view returns (uint256 distributed, uint256 dustSwept, uint256 held) {
        distributed = _totalDistributed;
        dustSwept = _totalDustSwept;
        held = _stablecoin.balanceOf(address(this));
    }

    /// @notice Current accumulator value (magnified income per token unit).
    function pointsPerShare() external view returns (uint256) {
        return _pointsPerShare;
    }

    /// @notice `holder`'s unclaimed income in magnified units (MAGNITUDE per base unit),
    ///         sub-unit fraction included: over all wallets these plus the dust equal the
    ///         deposits (magnified) minus what was claimed and swept, exactly.
    function magnifiedIncomeOf(address holder) external view returns (uint256) {
        return _accumulated(_holders[holder]);
    }

    // ---------------------------------------------------------------- internal: rules

    function _transferRestriction(address from, address to, uint256 amount) internal view returns (uint8) {
        if (_paused) return PAUSED;
        Holder memory f = _holders[from];
        if (f.addressFrozen) return SENDER_FROZEN;
        if (_holders[to].addressFrozen) return RECEIVER_FROZEN;
        if (amount > f.balance - f.frozen) return INSUFFICIENT_UNFROZEN_BALANCE;
        if (block.timestamp < _lockupUntil) return LOCKED_UP;
        if (from == to) return _receiverRestriction(to, 0);
        uint8 code = _receiverRestriction(to, amount);
        if (code != SUCCESS) return code;
        if (_wouldExceedHolders(from, to, amount)) return MAX_HOLDERS_EXCEEDED;
        return SUCCESS;
    }

    function _mintRestriction(address to, uint256 amount) internal view returns (uint8) {
        uint8 code = _receiverRestriction(to, amount);
        if (code != SUCCESS) return code;
        if (_wouldExceedHolders(address(0), to, amount)) return MAX_HOLDERS_EXCEEDED;
        // supplyCap <= totalUnits (initialize / setComplianceParams); 0 = up to totalUnits
        uint256 cap = _supplyCap;
        if (cap == 0) cap = _totalUnits;
        if (amount > cap - _totalSupply) return SUPPLY_CAP_EXCEEDED;
        return SUCCESS;
    }

    /// @dev Verification, country and max-balance rules for the receiver.
    function _receiverRestriction(address to, uint256 amount) internal view returns (uint8) {
        (bool verified, uint16 country) = _registry.verifiedCountry(to);
        if (!verified) return RECEIVER_NOT_VERIFIED;
        if (_countryRestricted && !_countryListed(country)) return COUNTRY_NOT_ALLOWED;
        uint256 maxBal = _maxBalance;
        if (maxBal != 0 && uint256(_holders[to].balance) + amount > maxBal) return MAX_BALANCE_EXCEEDED;
        return SUCCESS;
    }

    function _wouldExceedHolders(address from, address to, uint256 amount) internal view returns (bool) {
        uint256 cap = _maxHolders;
        if (cap == 0 || amount == 0 || _holders[to].balance != 0) return false;
        uint256 count = _holderCount + 1;
        if (from != address(0) && _holders[from].balance == amount) count -= 1;
        return count > cap;
    }

    function _compliantTransfer(address from, address to, uint256 amount) internal {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint8 code = _transferRestriction(from, to, amount);
        if (code != SUCCESS) {
            if (code == INSUFFICIENT_UNFROZEN_BALANCE && amount > _holders[from].balance) {
                revert ERC20InsufficientBalance(from, _holders[from].balance, amount);
            }
            revert TransferRestricted(code);
        }
        _update(from, to, amount);
    }

    // ---------------------------------------------------------------- internal: accounting

    /// @dev Moves `amount` (mint when `from == 0`, burn when `to == 0`), keeping the holder
    ///      count, total supply and income corrections consistent.
    function _update(address from, address to, uint256 amount) internal {
        if (amount > MAX_SUPPLY) revert InvalidAmount(amount);
        uint32 amt = uint32(amount);
        int256 points = int256(uint256(_pointsPerShare)) * int256(uint256(amt));
        if (from == address(0)) {
            uint256 supply = uint256(_totalSupply) + amt;
            if (supply > MAX_SUPPLY) revert InvalidAmount(amount);
            _totalSupply = uint32(supply);
        } else {
            Holder storage h = _holders[from];
            uint32 bal = h.balance;
            if (bal < amt) revert ERC20InsufficientBalance(from, bal, amount);
            unchecked {
                h.balance = bal - amt;
            }
            if (points != 0) h.correction = _toInt184(int256(h.correction) + points);
            if (bal == amt && amt != 0) _holderCount -= 1;
        }
        if (to == address(0)) {
            unchecked {
                _totalSupply -= amt;
            }
        } else {
            Holder storage h = _holders[to];
            uint32 bal = h.balance;
            h.balance = bal + amt;
            if (points != 0) h.correction = _toInt184(int256(h.correction) - points);
            if (bal == 0 && amt != 0) _holderCount += 1;
        }
        emit Transfer(from, to, amount);
    }

    /// @dev Unfreezes what an agent path needs beyond the free balance (ERC-3643 behaviour).
    function _unfreezeForAgent(address wallet, uint256 amount) internal {
        Holder storage h = _holders[wallet];
        uint256 free = uint256(h.balance) - h.frozen;
        if (amount > free && amount <= h.balance) {
            uint256 needed = amount - free;
            h.frozen -= uint32(needed);
            emit TokensUnfrozen(wallet, needed);
        }
    }

    /// @dev The k/N split of `pool` over `supply` outstanding of `units` (N) units:
    ///      inc = floor(pool * MAGNITUDE / N) per unit (pool <= MAX_TOTAL_DISTRIBUTED, so
    ///      the product < 2^136), credited = inc * supply (< 2^168), amount =
    ///      ceil(credited / MAGNITUDE). (0, 0) when supply, pool or inc is zero.
    function _split(uint256 pool, uint256 supply, uint256 units)
        internal
        pure
        returns (uint256 amount, uint256 inc)
    {
        if (pool > MAX_TOTAL_DISTRIBUTED) revert AccountingOverflow();
        if (supply == 0 || units == 0) return (0, 0);
        inc = pool * MAGNITUDE / units;
        if (inc == 0) return (0, 0);
        amount = (inc * supply + MAGNITUDE - 1) / MAGNITUDE;
    }

    function _accumulated(Holder memory h) internal view returns (uint256) {
        int256 acc = int256(uint256(_pointsPerShare)) * int256(uint256(h.balance)) + h.correction;
        return acc > 0 ? uint256(acc) : 0;
    }

    function _moveAllIncome(address from, address to) internal {
        uint256 mag = _accumulated(_holders[from]);
        if (mag == 0) return;
        Holder storage f = _holders[from];
        Holder storage t = _holders[to];
        f.correction = _toInt184(int256(f.correction) - int256(mag));
        t.correction = _toInt184(int256(t.correction) + int256(mag));
        emit IncomeMoved(from, to, mag);
    }

    /// @dev Books `holder`'s whole withdrawable units as paid (one correction write,
    ///      emits `IncomeClaimed`) and returns them; 0 (nothing written) if none. The
    ///      caller transfers the stablecoin to `holder`.
    function _settle(address holder, uint256 pps) internal returns (uint256 payout) {
        Holder storage h = _holders[holder];
        int256 corr = h.correction;
        int256 acc = int256(pps) * int256(uint256(h.balance)) + corr;
        if (acc <= 0) return 0;
        payout = uint256(acc) / MAGNITUDE;
        if (payout == 0) return 0;
        // acc - payout * MAGNITUDE stays in [0, MAGNITUDE): within int184 (see Holder)
        h.correction = int184(corr - int256(payout * MAGNITUDE));
        emit IncomeClaimed(holder, msg.sender, payout);
    }

    /// @dev Unreachable within MAX_SUPPLY / MAX_TOTAL_DISTRIBUTED (see the contract notes);
    ///      kept as a guard so a broken invariant reverts instead of wrapping.
    function _toInt184(int256 v) private pure returns (int184) {
        if (v > type(int184).max || v < type(int184).min) revert AccountingOverflow();
        return int184(v);
    }

    function _setCountry(uint16 country, bool allowed) private {
        uint256 word = uint256(country) >> 8;
        uint256 bit = uint256(1) << (country & 0xff);
        if (allowed) _countryBits[word] |= bit;
        else _countryBits[word] &= ~bit;
        emit CountryAllowed(country, allowed);
    }

    function _countryListed(uint16 country) private view returns (bool) {
        return _countryBits[uint256(country) >> 8] & (uint256(1) << (country & 0xff)) != 0;
    }
}
